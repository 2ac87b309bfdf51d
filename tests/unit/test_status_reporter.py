"""workers.status.StatusReporter: it stops when its worker stops, whenever the stop arrives."""

from __future__ import annotations

import asyncio

from foreman.runtime.recorder import WorkerStats
from workers.status import StatusBoard, StatusReporter

HANG_GUARD = 10.0  # seconds: turns a reporter that never stops into a failure instead of a hung test run


async def test_reporter_stops_when_the_stop_comes_right_after_a_change(store):
    # changed() wakes the reporter; the stop lands before it resumes. asyncio.wait_for on 3.11 swallowed
    # that cancel and the reporter looped forever (the fleet's second run in one process hung at its end).
    reporter = StatusReporter(store, "coding-1", "coding", WorkerStats(), interval=60.0)
    async with asyncio.timeout(HANG_GUARD):
        async with reporter:
            reporter.changed()
            await asyncio.sleep(0)  # one loop step: the wake-up completes, the reporter has not resumed yet
    assert reporter._task.done()
    assert [w.name for w in store.worker_list(since=0)] == ["coding-1"]


async def test_a_write_still_running_at_the_stop_never_lands_after_the_final_one(store, monkeypatch):
    """The last row is the stopped state even when the loop's write of an older state is slow."""
    import threading
    import time

    put = store.workers_put
    slow = threading.Event()
    landed = threading.Event()

    def workers_put(statuses):
        if statuses[0].state == "idle" and not slow.is_set():
            slow.set()
            time.sleep(0.3)  # the loop's write is still in its thread when the worker stops
            put(statuses)
            landed.set()
            return
        put(statuses)

    monkeypatch.setattr(store, "workers_put", workers_put)
    stats = WorkerStats(state="starting")
    reporter = StatusReporter(store, "coding-1", "coding", stats, interval=60.0)
    async with asyncio.timeout(HANG_GUARD):
        async with reporter:
            stats.state = "idle"
            reporter.changed()
            await asyncio.to_thread(slow.wait)
            stats.state = "stopped"
    await asyncio.to_thread(landed.wait, HANG_GUARD)  # every write has landed
    assert [w.state for w in store.worker_list(since=0)] == ["stopped"]


async def test_reporters_sharing_a_board_write_every_row_with_the_latest_state(store):
    """Rows changed while the board's previous write ran go out together, each with its worker's last state."""
    board = StatusBoard(store)
    stats = {name: WorkerStats(state="idle") for name in ("coding-1", "coding-2", "coding-3")}
    reporters = [StatusReporter(store, name, "coding", s, interval=60.0, board=board) for name, s in stats.items()]
    async with asyncio.timeout(HANG_GUARD):
        for reporter in reporters:
            await reporter.__aenter__()
        for name, s in stats.items():
            s.state, s.issue_id = "working", f"fm-{name[-1]}"
        for reporter in reporters:
            reporter.changed()
        await asyncio.sleep(0)  # the reporters wake up and queue their rows
        await board.flush()
        rows = {w.name: (w.state, w.issue_id) for w in store.worker_list(since=0)}
        assert rows == {name: ("working", f"fm-{name[-1]}") for name in stats}
        for reporter in reporters:
            await reporter.__aexit__(None, None, None)
    assert {w.state for w in store.worker_list(since=0)} == {"working"}, "the final rows are the stats at the stop"


async def test_rows_changed_in_a_burst_are_written_in_one_transaction(store, monkeypatch):
    put = store.workers_put
    batches: list[list[str]] = []

    def workers_put(statuses):
        batches.append(sorted(s.name for s in statuses))
        put(statuses)

    monkeypatch.setattr(store, "workers_put", workers_put)
    board = StatusBoard(store)
    names = [f"coding-{n}" for n in range(8)]
    for name in names:
        board.put(StatusReporter(store, name, "coding", WorkerStats(state="working"), board=board).snapshot())
        await asyncio.sleep(0)
    await board.flush()
    assert batches == [names]
    assert sorted(w.name for w in store.worker_list(since=0)) == names
