"""The newcomer's path (issue 12's "done when"), through real ``foreman`` processes: ``init``, edit the
example task file, ``import``, ``run`` (scripted rehearsal: fake LLMs, real sessions), ``status``, ``export``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml


def foreman(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    """Run ``foreman ARGS`` in ``cwd``; git looks for no repository above the test's folder (the newcomer has none)."""
    env = os.environ | {"GIT_CEILING_DIRECTORIES": str(cwd.parent)}
    done = subprocess.run([sys.executable, "-m", "foreman.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=240, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def test_init_edit_import_run_status_export(tmp_path):
    foreman(tmp_path, "init", "proj")
    proj = tmp_path / "proj"
    task_file = proj / ".foreman" / "tasks.yaml"
    tasks = yaml.safe_load(task_file.read_text())
    tasks.append({"id": "changelog", "title": "Start the changelog", "worker_type": "coding",
                  "depends_on": ["readme"], "estimate_hours": 0.25, "checks": ["test -s CHANGELOG.md"]})
    task_file.write_text(yaml.safe_dump(tasks))  # the newcomer's edit: one more stage

    imported = json.loads(foreman(proj, "import", ".foreman/tasks.yaml", "--json").stdout)
    assert sorted(imported["ids"]) == ["changelog", "notes", "readme"] and imported["dependencies_added"] == 2
    before = json.loads(foreman(proj, "status", "--json").stdout)
    assert before["counts"]["open"] == 3 and before["remaining_estimate_hours"] == 1.75

    run = foreman(proj, "run", "--rehearsal")
    assert "run over" in run.stdout

    status = json.loads(foreman(proj, "status", "--json").stdout)
    assert status["done_percent"] == 100.0 and status["counts"]["closed"] == 3
    assert status["by_worker_type"] == {"coding": {"closed": 2}, "research": {"closed": 1}}
    assert status["spend"]["model_calls"] > 0 and status["spend"]["input_tokens"] > 0
    assert "every issue is closed" in foreman(proj, "status").stdout

    foreman(proj, "export", "done.yaml", "--status", "closed")
    exported = {t["id"]: t for t in yaml.safe_load((proj / "done.yaml").read_text())}
    assert exported["changelog"]["depends_on"] == ["readme"] and exported["readme"]["inputs"] == ["notes"]
    assert any(note["author"].startswith("coding-") for note in exported["readme"]["notes"])
