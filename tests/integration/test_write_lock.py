"""The write-lock strategies of the SQLite store (issue 13): the queue on a file lock beside the database."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
from pathlib import Path

import pytest
from amplifier_core.testing import wait_for

from foreman.issues import NewIssue
from foreman.issues.errors import DatabaseUnreadable
from foreman.issues.sqlite_store import SQLiteStore
from foreman.issues.write_lock import QUEUE_SUFFIX, WriterQueue


def _waiting_on(path: Path) -> bool:
    """True when some process waits for a flock on ``path`` (``/proc/locks`` marks waiters with ``->``)."""
    inode = f":{os.stat(path).st_ino} "
    return any("->" in line and "FLOCK" in line and inode in line for line in Path("/proc/locks").read_text().splitlines())


async def test_a_write_waits_for_the_queue_and_runs_once_it_frees(tmp_path):
    db = tmp_path / "issues.db"
    store = SQLiteStore(db, create=True, write_lock=WriterQueue(str(db)))
    queue = Path(f"{db}{QUEUE_SUFFIX}")
    holder = os.open(queue, os.O_RDWR)
    fcntl.flock(holder, fcntl.LOCK_EX)  # another writer's turn
    writer = threading.Thread(target=store.create, args=(NewIssue(title="queued"),))
    writer.start()

    assert await wait_for(lambda: _waiting_on(queue), timeout=10)
    reader = SQLiteStore(db)  # the writing store's own calls wait behind its write
    assert reader.list() == []  # the write has not started
    fcntl.flock(holder, fcntl.LOCK_UN)
    writer.join()

    assert [i.title for i in reader.list()] == ["queued"]
    os.close(holder)
    reader.disconnect()
    store.disconnect()


def test_an_in_memory_store_needs_no_queue_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    store = SQLiteStore(":memory:", create=True, write_lock=WriterQueue(":memory:"))
    store.create(NewIssue(title="x"))
    assert list(tmp_path.iterdir()) == []
    store.disconnect()


def test_a_write_that_cannot_begin_gives_up_its_turn_in_the_queue(tmp_path):
    db = tmp_path / "issues.db"
    store = SQLiteStore(db, create=True, busy_timeout=0.05, write_lock=WriterQueue(str(db)))
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # a writer that does not queue: SQLite itself keeps the store out
    with pytest.raises(DatabaseUnreadable, match="stayed locked"):
        store.create(NewIssue(title="refused"))
    other.execute("ROLLBACK")

    probe = os.open(f"{db}{QUEUE_SUFFIX}", os.O_RDWR)
    fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)  # raises BlockingIOError while the store keeps its turn
    os.close(probe)
    assert store.create(NewIssue(title="next")).title == "next"
    other.close()
    store.disconnect()
