"""Writes from async code run on the event loop while the write lock is free, in a thread once it is held."""

from __future__ import annotations

import asyncio
import sqlite3
import threading

import pytest

from foreman.issues import NewIssue, open_store, writes
from foreman.issues.errors import WouldWait
from foreman.issues.postgres_store import PostgresStore

HANG_GUARD = 10.0  # seconds: a write that never ends fails the test instead of hanging it


def _noting(store, threads: list[int], notes: int = 1):
    """A call writing ``notes`` notes on one new issue that records which thread ran it (each run)."""
    issue = store.create(NewIssue(title="write me"))

    def note() -> str:
        threads.append(threading.get_ident())
        for n in range(notes):
            store.note(issue.id, f"note {n}")
        return issue.id

    return note


async def _write_on_loop(store, call):
    return await writes.write(store, call), threading.get_ident()


def test_an_uncontended_write_runs_on_the_event_loop_where_writes_can_be_tried(store):
    threads: list[int] = []
    issue_id, loop_thread = asyncio.run(_write_on_loop(store, _noting(store, threads)))
    assert [n.body for n in store.show(issue_id).notes] == ["note 0"]
    assert (threads == [loop_thread]) == store.inline_writes
    assert store.inline_writes == (not isinstance(store, PostgresStore) and store.path != ":memory:")


def test_a_write_that_meets_a_held_lock_waits_in_a_thread_and_is_written_once(tmp_path):
    store = open_store(tmp_path / "issues.db", create=True)
    threads: list[int] = []
    note = _noting(store, threads)
    other = sqlite3.connect(tmp_path / "issues.db", isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # another process's writer holds the lock

    async def write_while_held():
        pending = asyncio.create_task(_write_on_loop(store, note))
        await asyncio.sleep(0.2)
        assert not pending.done(), "the write waits for the lock"
        other.execute("COMMIT")
        return await asyncio.wait_for(pending, HANG_GUARD)

    issue_id, loop_thread = asyncio.run(write_while_held())
    tried, then = threads[0], threads[1:]
    assert tried == loop_thread and then and loop_thread not in then, "tried on the loop, then run in a thread"
    assert [n.body for n in store.show(issue_id).notes] == ["note 0"]
    store.disconnect()


def test_a_call_that_wrote_once_never_gives_up_halfway(tmp_path):
    """Only a call's first transaction may give up, so a retry never repeats a committed write."""
    store = open_store(tmp_path / "issues.db", create=True)
    threads: list[int] = []
    note = _noting(store, threads, notes=2)
    other = sqlite3.connect(tmp_path / "issues.db", isolation_level=None, check_same_thread=False)
    first_done = threading.Event()
    real_note = store.note

    def note_then_let_another_writer_in(*args, **kwargs):
        result = real_note(*args, **kwargs)
        if not first_done.is_set():
            first_done.set()
            other.execute("BEGIN IMMEDIATE")
            threading.Timer(0.2, other.execute, ("COMMIT",)).start()
        return result

    store.note = note_then_let_another_writer_in
    issue_id, loop_thread = asyncio.run(_write_on_loop(store, note))
    assert threads == [loop_thread], "the second note waited for the lock on the loop, not retried in a thread"
    assert [n.body for n in store.show(issue_id).notes] == ["note 0", "note 1"]
    store.disconnect()


@pytest.mark.parametrize("held", [True, False])
def test_not_waiting_gives_up_before_writing_only_when_the_lock_is_held(tmp_path, held):
    store = open_store(tmp_path / "issues.db", create=True)
    other = sqlite3.connect(tmp_path / "issues.db", isolation_level=None, check_same_thread=False)
    if held:
        other.execute("BEGIN IMMEDIATE")
    with store.not_waiting():
        if held:
            with pytest.raises(WouldWait):
                store.create(NewIssue(title="not now"))
        else:
            store.create(NewIssue(title="now"))
    if held:
        other.execute("COMMIT")
    assert [i.title for i in store.list()] == ([] if held else ["now"])
    store.create(NewIssue(title="later"))  # outside the block writes wait as before
    assert [i.title for i in store.list()][-1] == "later"
    store.disconnect()
