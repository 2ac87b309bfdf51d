"""The quality benchmark's workspace (bench/quality): buggy programs whose tests fail as shipped.

Each program carries exactly one one-line bug; its test must fail on the shipped code (else the
benchmark would count an untouched program as fixed). The fixes are kept out of the repository:
each was verified by hand in a temporary copy (one line changed, the test passes).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from foreman.runtime.tasks import load_tasks

QUALITY = Path(__file__).resolve().parents[2] / "bench" / "quality"
PROGRAMS = QUALITY / "programs"
NAMES = sorted(p.stem for p in PROGRAMS.glob("*.py"))
MIN_PROGRAMS = 12  # issue 8: "at least 12 small programs"


def test_there_are_enough_programs_each_with_a_test_file():
    assert len(NAMES) >= MIN_PROGRAMS
    assert (PROGRAMS / "tests" / "__init__.py").is_file()
    missing = [name for name in NAMES if not (PROGRAMS / "tests" / f"test_{name}.py").is_file()]
    assert missing == []


@pytest.mark.parametrize("name", NAMES)
def test_the_programs_test_fails_on_the_shipped_code(name, tmp_path):
    workspace = tmp_path / "programs"
    shutil.copytree(PROGRAMS, workspace, ignore=shutil.ignore_patterns("__pycache__"))
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run([sys.executable, "-m", "unittest", "-q", f"tests.test_{name}"], cwd=workspace, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "FAILED" in done.stderr
    # it fails on the bug, not because the program cannot be imported
    assert "ImportError" not in done.stderr and "SyntaxError" not in done.stderr


def test_every_program_has_one_task_whose_check_is_its_test():
    tasks = load_tasks(QUALITY / "tasks.json")
    assert sorted(t.id for t in tasks) == NAMES
    for task in tasks:
        assert task.checks == [f"python3 -m unittest -q tests.test_{task.id}"]
        assert task.worker_type == "coding"
        assert f"tests/test_{task.id}.py" in task.description

