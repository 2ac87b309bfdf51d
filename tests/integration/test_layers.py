"""The import layers of pyproject.toml's import-linter contracts hold (issue 9, item 5; docs/development.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def test_every_import_contract_is_kept() -> None:
    result = subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_a_wrong_arrow_breaks_a_contract(tmp_path: Path) -> None:
    """The contracts are live: a config whose layers are upside down is reported broken."""
    config = (ROOT / "pyproject.toml").read_text()
    upside_down = config.replace('"foreman.cli",\n', "").replace(
        '"foreman.issues | foreman.sandbox | foreman.testing",\n', '"foreman.issues | foreman.sandbox | foreman.testing",\n    "foreman.cli",\n')
    (tmp_path / "pyproject.toml").write_text(upside_down)
    result = subprocess.run([str(LINT_IMPORTS), "--no-cache", "--config", str(tmp_path / "pyproject.toml")], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 1
    assert "fleet and CLI <- roles <- session runtime <- issue database BROKEN" in result.stdout
