"""Issue 7, defect 1: a fresh install has every import the shipped modules need.

lxml 6 moved ``lxml.html.clean`` into the separate ``lxml_html_clean`` package; trafilatura
(tool-web's extractor) imports it, so a fresh install without that dependency could not load
tool-web, and ``setup_modules.py`` exited 1.
"""

import importlib
from importlib.metadata import requires


def test_the_project_depends_on_the_split_out_html_cleaner():
    assert any(r.lower().replace("-", "_").startswith("lxml_html_clean") for r in requires("amplifier-foreman"))


def test_tool_webs_extractor_imports():
    importlib.import_module("lxml.html.clean")
    importlib.import_module("trafilatura")
    importlib.import_module("amplifier_foreman_modules.tool_web")
