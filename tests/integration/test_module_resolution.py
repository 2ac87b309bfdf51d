"""foreman.runtime.module_cache: an explicit patch of amplifier-core's loader, and a plan's ``source`` choice (issue 9)."""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from amplifier_core import loader
from amplifier_foreman_modules.context_simple import mount as our_mount

from foreman.runtime import module_cache
from foreman.runtime.plans import load_plan
from foreman.runtime.sessions import SessionStartError, open_session

STAND_IN = "stand-in-context"  # a distribution that also offers `context-simple`


@pytest.fixture
def fresh_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """install() on a clean cache; the kernel's own method is put back after the test."""
    monkeypatch.setattr(loader.ModuleLoader, module_cache.PATCHED, getattr(loader.ModuleLoader, module_cache.PATCHED))
    monkeypatch.setattr(module_cache, "_resolved", {})


@pytest.fixture
def stand_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """An installed (on sys.path) distribution offering `context-simple`, module `stand_in_context`."""
    (tmp_path / "stand_in_context.py").write_text("async def mount(coordinator, config):\n    return None\n")
    info = tmp_path / "stand_in_context-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {STAND_IN}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[amplifier.modules]\ncontext-simple = stand_in_context:mount\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    yield "stand_in_context"
    sys.modules.pop("stand_in_context", None)


def test_importing_the_product_patches_nothing() -> None:
    """Side effects are explicit: importing the fleet, the CLI and the runtime leaves the kernel as it is."""
    code = ("import foreman.cli, foreman.fleet, foreman.runtime.sessions, workers.standalone\n"
            "from foreman.runtime import module_cache\n"
            "assert not module_cache.installed()\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_the_kernel_loader_still_has_the_method_install_wraps(fresh_cache) -> None:
    """Fails when an amplifier-core upgrade renames or reshapes ModuleLoader._load_entry_point."""
    module_cache.install()
    assert module_cache.installed()
    assert loader.ModuleLoader()._load_entry_point("context-simple") is our_mount


def test_install_fails_loudly_on_a_loader_of_another_shape(fresh_cache, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loader.ModuleLoader, module_cache.PATCHED, lambda self, module_id, extra: None)
    with pytest.raises(module_cache.LoaderChanged, match="_load_entry_point"):
        module_cache.install()
    monkeypatch.delattr(loader.ModuleLoader, module_cache.PATCHED)
    with pytest.raises(module_cache.LoaderChanged):
        module_cache.install()


def test_each_module_id_is_resolved_once_per_process(fresh_cache, monkeypatch: pytest.MonkeyPatch) -> None:
    scans = []
    real = importlib.metadata.entry_points
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda **kw: scans.append(kw) or real(**kw))
    module_cache.install()
    for _ in range(3):
        assert loader.ModuleLoader()._load_entry_point("context-simple") is our_mount
    assert len(scans) == 1


def test_offers_lists_every_distribution_with_the_id(stand_in) -> None:
    names = [module_cache.distribution_of(ep) for ep in module_cache.offers("context-simple")]
    assert sorted(names) == sorted(["amplifier-foreman", STAND_IN])


def test_source_chooses_which_distribution_loads(fresh_cache, stand_in) -> None:
    module_cache.install()
    with module_cache.choosing({"context-simple": STAND_IN}):
        chosen = loader.ModuleLoader()._load_entry_point("context-simple")
    assert chosen.__module__ == stand_in
    with module_cache.choosing({"context-simple": "Amplifier_Foreman"}):
        assert loader.ModuleLoader()._load_entry_point("context-simple") is our_mount


def test_a_source_that_does_not_offer_the_module_is_named(fresh_cache, stand_in) -> None:
    module_cache.install()
    with module_cache.choosing({"context-simple": "amplifier-module-context-simple"}):
        with pytest.raises(module_cache.SourceNotInstalled, match="offered by: .*stand-in-context"):
            loader.ModuleLoader()._load_entry_point("context-simple")


def test_choosing_without_install_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(module_cache, "installed", lambda: False)
    with pytest.raises(RuntimeError, match="install"):
        with module_cache.choosing({"context-simple": STAND_IN}):
            pass
    with module_cache.choosing({}):
        pass


# ------------------------------------------------------------------ setup_modules.py: offers, choice, --unregister

REPO = Path(__file__).resolve().parents[2]
CODING_WORKER = REPO / "mount_plans" / "coding-worker.json"


def setup_modules(plans: Path, extra_path: Path, *args: str) -> subprocess.CompletedProcess:
    """Run setup_modules.py as this test process sees the installed distributions: from ``extra_path``
    (first on sys.path, like the stand-in) rather than from the checkout, whose ``*.egg-info`` (left by
    ``pip install -e``) would be seen as an installed distribution before the stand-in."""
    env = dict(os.environ, PYTHONPATH=str(extra_path), COLUMNS="200")
    run = f"import runpy, sys; sys.argv[0] = {str(REPO / 'setup_modules.py')!r}; runpy.run_path(sys.argv[0], run_name='__main__')"
    return subprocess.run([sys.executable, "-c", run, "--plans", str(plans), *args], cwd=extra_path, env=env,
                          capture_output=True, text=True, timeout=120)


def plans_with_context_source(tmp_path: Path, source: str | None) -> Path:
    plans = tmp_path / "plans"
    plans.mkdir()
    data = json.loads(CODING_WORKER.read_text())
    if source:
        data["session"]["context"] = {"module": "context-simple", "source": source}
    (plans / "coding-worker.json").write_text(json.dumps(data))
    return plans


def test_setup_modules_shows_every_distribution_and_how_to_choose(tmp_path: Path, stand_in) -> None:
    result = setup_modules(plans_with_context_source(tmp_path, None), tmp_path)
    row = next(line for line in result.stdout.splitlines() if line.startswith("│ context-simple"))
    first = module_cache.distribution_of(module_cache.offers("context-simple")[0])
    assert f"{first}: coding-worker" in row
    assert "amplifier-foreman" in result.stdout and STAND_IN in result.stdout
    assert f'context-simple: 2 distributions offer it; a plan without "source" loads the first ({first})' in result.stdout


def test_setup_modules_validates_what_the_plan_chose(tmp_path: Path, stand_in) -> None:
    """The stand-in has no real context manager: choosing it fails validation, and the table says it loads."""
    result = setup_modules(plans_with_context_source(tmp_path, STAND_IN), tmp_path)
    assert result.returncode == 1, result.stdout
    assert f"{STAND_IN}: coding-worker (source)" in result.stdout
    assert "1 module(s) failed: context-simple" in result.stdout


def test_unregister_undoes_register(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = importlib.util.spec_from_file_location("setup_modules_under_test", REPO / "setup_modules.py")
    tool = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, tool)  # its dataclasses look their module up there
    spec.loader.exec_module(tool)
    pth = tmp_path / "site" / tool.PTH_NAME
    pth.parent.mkdir()
    monkeypatch.setattr(tool, "pth_file", lambda: pth)
    checkout = tmp_path / "checkouts" / "amplifier-module-tool-x"
    checkout.mkdir(parents=True)
    monkeypatch.setattr(sys, "path", list(sys.path))
    assert tool.register(checkout.parent) == [checkout.resolve()]
    assert pth.read_text() == f"{checkout.resolve()}\n"
    assert tool.unregister() == [str(checkout.resolve())]
    assert not pth.exists()
    assert tool.unregister() == []


def test_a_plan_whose_source_is_not_installed_does_not_start(fresh_cache, tmp_path: Path) -> None:
    plan = load_plan(plans_with_context_source(tmp_path, "amplifier-module-context-simple") / "coding-worker.json",
                     env={})
    module_cache.install()
    with pytest.raises(SessionStartError, match="offered by: amplifier-foreman"):
        asyncio.run(open_session(plan, workspace=tmp_path))
