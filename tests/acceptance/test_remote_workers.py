"""Fleets on PostgreSQL (issue 11): two worker processes, each in its own clone of one bare
repository, share a PostgreSQL queue and every issue's branch arrives on the remote exactly once;
``foreman run`` works on PostgreSQL as on SQLite.

The workers are real ``foreman worker`` / ``foreman run`` processes with the rehearsal's scripted fake LLM.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from foreman.issues import EventKind, open_store
from foreman.tasks import create_seed_workspace
from tests.support.postgres import fresh_database

REPO = Path(__file__).parents[2]
CODING_PLAN = REPO / "mount_plans" / "coding-worker.json"
ISSUES = 4
pytestmark = pytest.mark.timeout(240)


def _foreman(*args: str, **kwargs) -> subprocess.CompletedProcess:
    env = os.environ | {"FOREMAN_REHEARSAL_DELAY": "0"}
    return subprocess.run([sys.executable, "-m", "foreman.cli", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=200, **kwargs)


@pytest.fixture
def pg_url():
    with fresh_database() as url:
        yield url


def test_two_workers_with_separate_clones_push_each_branch_once(tmp_path, pg_url):
    seed = create_seed_workspace(tmp_path / "seed")
    bare = tmp_path / "shared.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(seed), str(bare)], check=True)
    ids = [json.loads(_foreman("issues", "create", f"Fix bug {n}", "--meta", "worker_type=coding", "--db", pg_url,
                               "--json").stdout)["id"] for n in range(ISSUES)]

    env = os.environ | {"FOREMAN_REHEARSAL_DELAY": "0"}
    workers = [subprocess.Popen([sys.executable, "-m", "foreman.cli", "worker", "--plan", str(CODING_PLAN),
                                 "--name", f"machine-{n}", "--db", pg_url, "--remote", str(bare),
                                 "--workspace", str(tmp_path / f"machine-{n}" / "clone"), "--until-idle", "--rehearsal"],
                                cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
               for n in range(2)]
    outputs = [w.communicate(timeout=200)[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs

    heads = subprocess.run(["git", "for-each-ref", "--format=%(refname:short)", "refs/heads/foreman/"], cwd=bare,
                           capture_output=True, text=True, check=True).stdout.split()
    assert sorted(heads) == sorted(f"foreman/{i}" for i in ids)
    store = open_store(pg_url)
    claims = Counter(e.issue_id for e in store.events(kinds=[EventKind.CLAIMED]))
    assert claims == Counter(ids), "every issue claimed exactly once"
    for issue_id in ids:  # each branch holds one worker's commit on top of the shared history
        log = subprocess.run(["git", "log", "--format=%s", f"HEAD..foreman/{issue_id}"], cwd=bare,
                             capture_output=True, text=True, check=True).stdout.splitlines()
        assert len(log) == 1 and log[0].startswith(issue_id), log
    assert {a.worker for i in ids for a in store.attempts(i)} <= {"machine-0", "machine-1"}
    store.disconnect()


def test_remote_needs_a_shared_database_and_its_own_clone(tmp_path, pg_url):
    seed = create_seed_workspace(tmp_path / "seed")
    alone = _foreman("worker", "--plan", str(CODING_PLAN), "--remote", str(seed), "--workspace", str(tmp_path / "c"))
    assert alone.returncode == 2 and "--remote needs --db" in alone.stdout, alone.stdout + alone.stderr
    other = _foreman("worker", "--plan", str(CODING_PLAN), "--remote", str(tmp_path / "elsewhere.git"), "--db", pg_url,
                     "--workspace", str(seed), "--until-idle", "--rehearsal")
    assert other.returncode == 2, other.stdout + other.stderr
    assert "is not a clone of" in other.stdout and "(its origin: none)" in " ".join(other.stdout.split())


def test_foreman_run_on_postgresql_verifies_and_merges_with_worker_processes(tmp_path, pg_url):
    workspace = create_seed_workspace(tmp_path / "ws")
    tasks = tmp_path / "tasks.json"
    tasks.write_text(json.dumps([{"title": f"Fix bug {n}", "worker_type": "coding"} for n in range(3)]))
    done = _foreman("run", "--tasks", str(tasks), "--workspace", str(workspace), "--db", pg_url, "--rehearsal",
                    "--processes", "--workers", "coding=2,research=0")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "run over: 3 verified and merged" in " ".join(done.stdout.split())
    store = open_store(pg_url)
    assert [i.status.value for i in store.list()] == ["closed"] * 3
    store.disconnect()
