"""amplifier-foreman installs beside a distribution that offers the same module id, and neither clobbers the other.

Issue 9, item 3. A stand-in for Microsoft's ``amplifier-module-tool-filesystem`` (its import package
``amplifier_module_tool_filesystem`` and entry point ``tool-filesystem``) is written as a wheel here; ours
is built from this tree (a copy, so no build output lands in the checkout). Both go into a temporary
venv, non-editable, with ``--no-deps`` (offline, and only files matter here).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STAND_IN = "amplifier-module-tool-filesystem"
STAND_IN_PACKAGE = "amplifier_module_tool_filesystem"
IGNORED = shutil.ignore_patterns(".venv", ".git", "build", "dist", "*.egg-info", "__pycache__", ".foreman", "*.db")


def stand_in_wheel(folder: Path) -> Path:
    """A wheel shaped like Microsoft's tool-filesystem: its package, its entry point id."""
    wheel = folder / "amplifier_module_tool_filesystem-1.0.0-py3-none-any.whl"
    info = "amplifier_module_tool_filesystem-1.0.0.dist-info"
    files = {
        f"{STAND_IN_PACKAGE}/__init__.py": "async def mount(coordinator, config):\n    return None\n",
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {STAND_IN}\nVersion: 1.0.0\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        f"{info}/entry_points.txt": f"[amplifier.modules]\ntool-filesystem = {STAND_IN_PACKAGE}:mount\n",
    }
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
        archive.writestr(f"{info}/RECORD", "".join(f"{name},,\n" for name in [*files, f"{info}/RECORD"]))
    return wheel


def our_wheel(folder: Path) -> Path:
    """amplifier-foreman's wheel, built offline from a copy of this tree."""
    source = folder / "source"
    shutil.copytree(ROOT, source, ignore=IGNORED)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w",
                    str(folder), str(source)], check=True, capture_output=True, timeout=300)
    return next(folder.glob("amplifier_foreman-*.whl"))


def pip(venv: Path, *args: str) -> None:
    """Our pip, acting on the temporary venv (which has none of its own)."""
    subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "-q", *args],
                   check=True, capture_output=True, timeout=300)


def files_of(venv: Path, distribution: str) -> dict[str, str]:
    """Installed file -> sha256 of its content, for every file the distribution's RECORD lists."""
    code = ("import hashlib, importlib.metadata as m, json, sys\n"
            "d = m.distribution(sys.argv[1])\n"
            "print(json.dumps({str(f): hashlib.sha256(f.locate().read_bytes()).hexdigest() for f in d.files"
            " if f.locate().is_file()}))\n")
    out = subprocess.run([str(venv / "bin" / "python"), "-c", code, distribution], check=True, capture_output=True,
                         text=True, timeout=60, cwd=venv)  # not the checkout: its *.egg-info would be seen too
    return json.loads(out.stdout)


def offers(venv: Path) -> list[str]:
    """`distribution: value` of every `tool-filesystem` entry point the temporary venv offers."""
    code = ("import importlib.metadata as m\n"
            "print('\\n'.join(f'{e.dist.name}: {e.value}' for e in m.entry_points(group='amplifier.modules')"
            " if e.name == 'tool-filesystem'))\n")
    out = subprocess.run([str(venv / "bin" / "python"), "-c", code], check=True, capture_output=True, text=True,
                         timeout=60, cwd=venv)  # not the checkout: its *.egg-info would be seen too
    return sorted(out.stdout.split("\n")[:-1])


@pytest.fixture
def venv(tmp_path: Path) -> Path:
    path = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True, timeout=120)
    return path


def test_both_install_side_by_side_and_uninstalling_ours_leaves_the_other_intact(tmp_path: Path, venv: Path) -> None:
    ours = our_wheel(tmp_path)
    theirs = stand_in_wheel(tmp_path)

    pip(venv, "install", "--no-deps", "--no-index", str(ours))
    our_files = files_of(venv, "amplifier-foreman")
    pip(venv, "install", "--no-deps", "--no-index", str(theirs))
    their_files = files_of(venv, STAND_IN)

    assert not set(our_files) & set(their_files), "the two distributions share a file"
    our_top_level = {name.split("/")[0] for name in our_files if "/" in name}
    assert not [name for name in our_top_level if name.startswith("amplifier_module_")], "ours uses Microsoft's naming"
    assert files_of(venv, "amplifier-foreman") == our_files, "installing the other changed our files"
    assert offers(venv) == sorted(["amplifier-foreman: amplifier_foreman_modules.tool_filesystem:mount",
                                   f"{STAND_IN}: {STAND_IN_PACKAGE}:mount"])

    pip(venv, "uninstall", "-y", "amplifier-foreman")
    assert files_of(venv, STAND_IN) == their_files, "uninstalling ours touched the other's files"
    site = next((venv / "lib").glob("python*/site-packages"))
    assert not (site / "amplifier_foreman_modules").exists()
    assert offers(venv) == [f"{STAND_IN}: {STAND_IN_PACKAGE}:mount"]
    subprocess.run([str(venv / "bin" / "python"), "-c", f"import {STAND_IN_PACKAGE}"], check=True, timeout=60, cwd=venv)

