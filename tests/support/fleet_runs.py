"""Rehearsal fleets in subprocesses, for tests that watch or steer a running fleet (the dashboard's)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from foreman.issues import IssueError, open_store
from tests.support.tasks import SEED_WITHOUT_CHECKS

REPO = Path(__file__).parents[2]


def start_rehearsal(workspace: Path, tmp_path: Path, *args: str, delay: float = 1.0) -> subprocess.Popen:
    """``foreman run --rehearsal`` on the seed tasks (checks left out) in ``workspace``, output piped unbuffered.

    Every scripted model call takes ``delay`` seconds, so there is time to watch and steer.
    """
    tasks = tmp_path / "tasks.json"
    tasks.write_text(json.dumps([t.model_dump(mode="json") for t in SEED_WITHOUT_CHECKS]))
    cmd = [sys.executable, "-m", "foreman.cli", "run", "--tasks", str(tasks), "--workspace", str(workspace),
           "--rehearsal", *args]
    env = os.environ | {"FOREMAN_REHEARSAL_DELAY": str(delay), "PYTHONUNBUFFERED": "1", "COLUMNS": "200"}
    return subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def read_until(process: subprocess.Popen, prefix: str) -> str:
    """The first output line of ``process`` that starts with ``prefix`` (AssertionError if it ends first)."""
    lines = []
    for line in process.stdout:
        lines.append(line)
        if line.startswith(prefix):
            return line.strip()
    raise AssertionError(f"no line starting {prefix!r} in:\n{''.join(lines)}")


def wait_until(condition: Callable[[], bool], timeout: float = 120.0, what: str = "the condition") -> None:
    """Poll ``condition`` every 50 ms until it holds; AssertionError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def counts_if_ready(db: Path) -> dict[str, int] | None:
    """Issue counts of the database at ``db``, None while the run has not created it yet."""
    try:
        store = open_store(db)
    except IssueError:
        return None
    try:
        return store.counts()
    finally:
        store.disconnect()
