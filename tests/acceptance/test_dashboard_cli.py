"""`foreman dashboard` and the dashboard beside `foreman run` (issue 10): start-up errors, a busy
port, and stop requests obeyed by a whole fleet, workers in other processes included."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from foreman.issues import EventKind, open_store
from foreman.issues.fleet_records import RUN_EVENTS
from tests.support.fleet_runs import REPO, counts_if_ready, read_until, start_rehearsal, wait_until

pytestmark = pytest.mark.timeout(240)


def foreman(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "foreman.cli", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=60, **kwargs)


@pytest.fixture
def busy_port():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    yield sock.getsockname()[1]
    sock.close()


def test_dashboard_help_lists_its_options():
    done = foreman("dashboard", "--help")
    assert done.returncode == 0
    assert all(option in done.stdout for option in ("--db", "--host", "--port", "--workspace", "--plans"))


def test_dashboard_without_a_database_is_one_error_line(tmp_path):
    done = foreman("dashboard", "--db", str(tmp_path / "none.db"), "--port", "0")
    assert done.returncode == 2 and done.stdout.count("\n") == 1 and "no issue database" in done.stdout


def test_dashboard_on_a_busy_port_is_one_error_line(tmp_path, busy_port):
    open_store(tmp_path / "issues.db", create=True).disconnect()
    done = foreman("dashboard", "--db", str(tmp_path / "issues.db"), "--port", str(busy_port))
    assert done.returncode == 2 and done.stdout.count("\n") == 1
    assert f"port {busy_port} on 127.0.0.1 is already in use" in done.stdout


def test_run_with_a_busy_dashboard_port_warns_and_runs_on(tmp_path, git_workspace, busy_port):
    run = start_rehearsal(git_workspace, tmp_path, "--dashboard-port", str(busy_port), delay=0)
    output, _ = run.communicate(timeout=180)
    assert run.returncode == 0, output
    assert "dashboard not started" in output and "already in use" in output and "run over" in output


@pytest.mark.parametrize(("mode", "args"), [("graceful", ["--processes"]), ("emergency", [])])
def test_a_stop_request_in_the_database_stops_the_run(tmp_path, git_workspace, mode, args):
    run = start_rehearsal(git_workspace, tmp_path, *args)
    assert read_until(run, "dashboard: http://127.0.0.1:")
    db = git_workspace / ".foreman" / "issues.db"
    wait_until(lambda: (counts_if_ready(db) or {}).get("in_progress", 0) >= 1, what="a claim")
    store = open_store(db)
    store.request_stop(mode, actor="dashboard")
    output, _ = run.communicate(timeout=120)
    assert run.returncode == 130, output
    assert store.events(RUN_EVENTS, kinds=[EventKind.STOP_REQUESTED])[-1].actor == "dashboard"
    if mode == "graceful":  # every worker process released its claim before it stopped
        assert store.counts()["in_progress"] == 0 and "--resume" in output
    store.disconnect()
