"""Runtime faults (issue 7, defect 17): a lease keeper that cannot renew, a store that stays locked,
a session that cannot start, and a foreman watch that fails.

Real SQLite stores, real mount plans and sessions; the LLMs are the scripted FAKES of
``foreman.rehearsal``. Waits between a worker's tries go through ``workers.runtime.wait_any``,
which the tests replace with a recorder (so no test sleeps through a back-off).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from foreman.cli.fleet import EXIT_FAULT, run_command
from foreman.fleet import Fleet, FleetConfig
from foreman.issues import EventKind, NewIssue, Status
from foreman.issues.sqlite_store import SQLiteStore
from foreman.monitor import Monitor, RunState
from foreman.rehearsal import DELAY_ENV, rehearsal_provider
from foreman.runtime.lease import LeaseKeeper
from foreman.runtime.plans import PLANS_DIR, load_plan
from foreman.runtime.recorder import EventSink
from foreman.runtime.tasks import TaskSpec
from foreman.runtime.workspace import Workspace
from tests.support.tasks import SEED_WITHOUT_CHECKS
from workers import runtime
from workers.runtime import FAULT_BACKOFF_FIRST, FAULT_BACKOFF_MAX, Worker

CODING = {"worker_type": "coding"}


class HeartbeatFault(SQLiteStore):
    """A real store whose lease renewals raise something that is not an IssueError."""

    def heartbeat_many(self, renewals):
        raise RuntimeError("disk on fire")


def test_a_lease_keeper_that_cannot_renew_cancels_the_session_and_says_why(tmp_path):
    store = HeartbeatFault(tmp_path / "issues.db", create=True)
    claim = store.claim(store.create(NewIssue(title="x")).id, "coding-1")
    reasons: list[str] = []

    async def keep() -> LeaseKeeper:
        lost = asyncio.Event()

        async def on_lost(why: str) -> None:
            reasons.append(why)
            lost.set()

        async with LeaseKeeper(store, lambda: claim, ttl=0.3, on_lost=on_lost) as keeper:
            await asyncio.wait_for(lost.wait(), timeout=30)
        return keeper

    keeper = asyncio.run(keep())
    assert reasons == [keeper.lost_reason] and "RuntimeError: disk on fire" in keeper.lost_reason


def _worker(store, root: Path, plan_path=PLANS_DIR / "coding-worker.json") -> tuple[Worker, asyncio.Event]:
    stopping = asyncio.Event()
    worker = Worker("coding-1", load_plan(plan_path), store, Workspace(root), run_over=asyncio.Event(),
                    stopping=stopping, sink=EventSink(store),
                    options=runtime.WorkerOptions(provider_factory=rehearsal_provider))
    return worker, stopping


def _record_waits(monkeypatch, stopping: asyncio.Event, stop_after: int) -> list[float]:
    """Replace the worker's waits with a recorder that stops the worker after ``stop_after`` waits."""
    waits: list[float] = []

    async def wait(*events: asyncio.Event, timeout: float) -> None:
        waits.append(timeout)
        if len(waits) >= stop_after:
            stopping.set()

    monkeypatch.setattr(runtime, "wait_any", wait)
    return waits


def _assert_backs_off(waits: list[float]) -> None:
    assert waits[0] == FAULT_BACKOFF_FIRST
    assert all(a < b or a == b == FAULT_BACKOFF_MAX for a, b in zip(waits, waits[1:])), waits
    assert waits[-1] == FAULT_BACKOFF_MAX


@pytest.mark.timeout(120)
def test_a_worker_backs_off_while_the_database_stays_locked(tmp_path, monkeypatch):
    db = tmp_path / "issues.db"
    store = SQLiteStore(db, create=True, busy_timeout=0.01)
    store.create(NewIssue(title="x", metadata=CODING))
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process keeps the write lock
    worker, stopping = _worker(store, tmp_path)
    waits = _record_waits(monkeypatch, stopping, stop_after=10)

    asyncio.run(worker.run())

    _assert_backs_off(waits)
    assert "locked" in worker.stats.last_action
    holder.execute("ROLLBACK")


@pytest.mark.timeout(120)
def test_a_session_that_cannot_start_releases_its_claim_and_costs_no_attempt(tmp_path, monkeypatch):
    plan = json.loads((PLANS_DIR / "coding-worker.json").read_text())
    plan["tools"].append({"module": "tool-that-does-not-exist"})
    (tmp_path / "broken.json").write_text(json.dumps(plan))
    store = SQLiteStore(tmp_path / "issues.db", create=True)
    issue = store.create(NewIssue(title="x", metadata=CODING, max_attempts=3))
    worker, stopping = _worker(store, tmp_path, tmp_path / "broken.json")
    waits = _record_waits(monkeypatch, stopping, stop_after=8)

    asyncio.run(worker.run())

    _assert_backs_off(waits)
    assert store.get(issue.id).status == Status.OPEN, "never dead-lettered by a worker fault"
    outcomes = [a.outcome for a in store.attempts(issue.id)]
    assert len(outcomes) == 8 and set(outcomes) == {"released"}
    assert not store.events(issue.id, kinds=[EventKind.FAILED]) and worker.stats.failed == []
    assert "session did not start" in store.attempts(issue.id)[0].error


def _review_crashing_when(monkeypatch, ready) -> None:
    """Monitor.review does nothing (the run goes on) until ``ready(store)`` holds, then raises."""
    async def review(self):
        counts = await asyncio.to_thread(self.store.counts)
        if await asyncio.to_thread(ready, self.store):
            raise RuntimeError("review crashed")
        return RunState(counts=counts)

    monkeypatch.setattr(Monitor, "review", review)


@pytest.mark.timeout(120)
def test_a_failing_watch_stops_every_worker_and_foreman_run_exits_non_zero(git_workspace, tmp_path, monkeypatch):
    # Each fake model call takes 2 s, so a claim stays in progress across several reviews (one a second)
    # and the watch surely fails while a worker holds one.
    monkeypatch.setenv(DELAY_ENV, "2")
    _review_crashing_when(monkeypatch, lambda store: store.counts()["in_progress"] >= 1)
    tasks = tmp_path / "tasks.json"
    tasks.write_text(json.dumps([t.model_dump(mode="json") for t in SEED_WITHOUT_CHECKS]))

    result = CliRunner().invoke(run_command, ["--tasks", str(tasks), "--workspace", str(git_workspace), "--rehearsal"])

    assert result.exit_code == EXIT_FAULT, result.output
    assert isinstance(result.exception, SystemExit), "no traceback"
    output = " ".join(result.output.split())
    assert "review crashed" in output and "run stopped on a fault" in output
    store = SQLiteStore(git_workspace / ".foreman" / "issues.db")
    assert store.counts()["in_progress"] == 0 and store.events(kinds=[EventKind.RELEASED]), "claims were released"
    assert {w.state for w in store.worker_list()} == {"stopped"}


WORKER_PROCESSES = 4  # the shipped plans: 2 coding, 1 research, 1 validator


@pytest.mark.timeout(240)
def test_a_failing_watch_stops_worker_processes(git_workspace, monkeypatch):
    def every_worker_idle(store) -> bool:
        return sum(w.state == "idle" for w in store.worker_list()) == WORKER_PROCESSES

    _review_crashing_when(monkeypatch, every_worker_idle)
    waiting = TaskSpec(title="Waits for a person", worker_type="coding", blocked_reason="needs a decision")
    fleet = Fleet(FleetConfig(workspace=git_workspace, tasks=[waiting], processes=True,
                              provider_factory=rehearsal_provider))

    report = asyncio.run(fleet.run())

    assert "review crashed" in report.fault and not report.interrupted
    workers = [w for w in fleet.store.worker_list() if w.worker_type != "foreman"]
    assert len(workers) == WORKER_PROCESSES and {w.state for w in workers} == {"stopped"}
