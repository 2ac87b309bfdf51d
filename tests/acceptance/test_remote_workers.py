"""Fleets on PostgreSQL (issue 11): two worker processes, each in its own clone of one bare
repository, share a PostgreSQL queue and every issue's branch arrives on the remote exactly once,
and a foreman in a third clone integrates each of them once on the remote's ``foreman/integration``;
``foreman run`` works on PostgreSQL as on SQLite; and (as root) the two workers run as separate
network hosts, network namespaces made with ``ip netns`` that reach PostgreSQL over veth pairs.

The workers are real ``foreman worker`` / ``foreman run`` processes with the rehearsal's scripted fake LLM.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from foreman.issues import EventKind, open_store
from tests.support.seed import create_seed_workspace
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

    foreman = _foreman("run", "--workspace", str(tmp_path / "foreman" / "clone"), "--remote", str(bare), "--db", pg_url,
                       "--rehearsal", "--workers", "coding=0,research=0", "--no-dashboard")
    assert foreman.returncode == 0, foreman.stdout + foreman.stderr
    merges = subprocess.run(["git", "log", "--merges", "--first-parent", "--format=%s", "foreman/integration"], cwd=bare,
                            capture_output=True, text=True, check=True).stdout.splitlines()
    assert sorted(m.split(":")[0] for m in merges) == sorted(f"Merge foreman/{i}" for i in ids), merges


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


@contextmanager
def _host(name: str, subnet: int) -> Iterator[str]:
    """A network namespace joined to this host by a veth pair, where the host forwards
    ``10.251.<subnet>.1:15432`` to the local PostgreSQL (so the server keeps listening on
    127.0.0.1 only); yields the server's address as seen from inside. Removed at exit."""
    host_ip, inner_ip = f"10.251.{subnet}.1", f"10.251.{subnet}.2"
    commands = [
        ["ip", "netns", "add", name],
        ["ip", "link", "add", f"{name}h", "type", "veth", "peer", "name", f"{name}v"],
        ["ip", "link", "set", f"{name}v", "netns", name],
        ["ip", "addr", "add", f"{host_ip}/30", "dev", f"{name}h"],
        ["ip", "link", "set", f"{name}h", "up"],
        ["ip", "netns", "exec", name, "ip", "addr", "add", f"{inner_ip}/30", "dev", f"{name}v"],
        ["ip", "netns", "exec", name, "ip", "link", "set", f"{name}v", "up"],
    ]
    forwarder = None
    try:
        for command in commands:
            done = subprocess.run(command, capture_output=True, text=True)
            if done.returncode:
                pytest.skip(f"network namespaces unavailable here: {' '.join(command)}: {done.stderr.strip()}")
        forwarder = subprocess.Popen(["socat", f"TCP-LISTEN:15432,bind={host_ip},fork,reuseaddr",
                                      "TCP:127.0.0.1:5432"])
        deadline = time.monotonic() + 30
        while subprocess.run(["ip", "netns", "exec", name, "pg_isready", "-q", "-h", host_ip, "-p", "15432"]).returncode:
            assert forwarder.poll() is None and time.monotonic() < deadline, "the forwarder never answered"
        yield host_ip
    finally:
        if forwarder is not None:
            forwarder.kill()
            forwarder.wait()
        subprocess.run(["ip", "netns", "del", name], capture_output=True)


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("socat") or not shutil.which("pg_isready"),
                    reason="needs root, socat and pg_isready for network namespaces")
def test_workers_on_separate_network_hosts_reach_postgresql_over_veth(tmp_path, pg_url):
    missing = [tool for tool in ("ip", "socat", "pg_isready") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (Debian: iproute2, socat, postgresql-client; .ci/run installs them)")
    seed = create_seed_workspace(tmp_path / "seed")
    bare = tmp_path / "shared.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(seed), str(bare)], check=True)
    ids = [json.loads(_foreman("issues", "create", f"Fix bug {n}", "--meta", "worker_type=coding", "--db", pg_url,
                               "--json").stdout)["id"] for n in range(ISSUES)]
    tag = uuid.uuid4().hex[:6]
    database = urlsplit(pg_url).path
    with _host(f"fm{tag}a", int(tag[:2], 16) % 250) as host_a, _host(f"fm{tag}b", int(tag[:2], 16) % 250 + 1) as host_b:
        env = os.environ | {"FOREMAN_REHEARSAL_DELAY": "0"}
        workers = [subprocess.Popen(["ip", "netns", "exec", f"fm{tag}{side}", sys.executable, "-m", "foreman.cli",
                                     "worker", "--plan", str(CODING_PLAN), "--name", f"host-{side}",
                                     "--db", f"postgresql://postgres@{server}:15432{database}", "--remote", str(bare),
                                     "--workspace", str(tmp_path / f"host-{side}"), "--until-idle", "--rehearsal"],
                                    cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                   for side, server in (("a", host_a), ("b", host_b))]
        outputs = [w.communicate(timeout=200)[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs
    heads = subprocess.run(["git", "for-each-ref", "--format=%(refname:short)", "refs/heads/foreman/"], cwd=bare,
                           capture_output=True, text=True, check=True).stdout.split()
    assert sorted(heads) == sorted(f"foreman/{i}" for i in ids)
    store = open_store(pg_url)
    assert Counter(e.issue_id for e in store.events(kinds=[EventKind.CLAIMED])) == Counter(ids)
    store.disconnect()
