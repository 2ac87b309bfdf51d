"""How the SQLite store takes the database's single write lock (issue 13).

:class:`BusyHandler`, the default, is plain ``BEGIN IMMEDIATE``: a waiter sleeps in SQLite's own
busy handler (1, 2, 5, 10 ... up to 100 ms between attempts, for the connection's busy timeout).
Two alternatives were built and measured against it in one run (``bench/bench_queue.py --lock busy
poll queue``; docs/benchmarks.md): :class:`ShortPoll` retries ``BEGIN IMMEDIATE`` every 0.1-2 ms
after a short busy wait, and :class:`WriterQueue` queues this host's writers on an exclusive
``flock`` of a file beside the database, so a waiter sleeps in the kernel and wakes the moment the
holder's transaction ends (writers that do not queue there are still excluded by SQLite itself).
With more writers than cores, writers take turns whatever the strategy: the one that just
committed takes the lock straight back while the others sleep, so throughput is the one-process
rate. The busy handler measured as fast as the short poll at 8 processes and faster at 16 (its
sleepers burn no CPU the holder needs), and the queue slowest (every hand-over is a wake-up and
a context switch), so the default has no constant tuned to a machine; the other two stay options
(``SQLiteStore(write_lock=...)``).
"""

from __future__ import annotations

import fcntl
import os
import random
import sqlite3
import time
from typing import Protocol

POLL_BUSY_MS = 50  # ShortPoll: SQLite's own busy wait per attempt, ms (also what reads during a checkpoint get)
POLL_PAUSE = (0.0001, 0.002)  # ShortPoll: seconds slept between attempts (uniform in this range)
QUEUE_SUFFIX = "-writers"  # the queue file is the database's path plus this (issues.db-writers)


class WriteLock(Protocol):
    """A way to take SQLite's write lock for one transaction: :meth:`begin`, then :meth:`end`."""

    def begin(self, conn: sqlite3.Connection) -> None:
        """Run ``BEGIN IMMEDIATE`` on ``conn`` once this strategy has the lock. When it raises, nothing
        is held (no :meth:`end` follows).

        Raises ``sqlite3.OperationalError`` ("database is locked") when the lock cannot be had in time.
        """

    def end(self) -> None:
        """Called after the caller ended the transaction that :meth:`begin` opened (COMMIT or ROLLBACK)."""

    def close(self) -> None:
        """Let go of whatever the strategy holds open (called when the store disconnects)."""


class BusyHandler:
    """``BEGIN IMMEDIATE``, waiting in SQLite's own busy handler for the connection's busy timeout.

    Raises ``sqlite3.OperationalError`` ("database is locked") once that timeout has passed.
    """

    def begin(self, conn: sqlite3.Connection) -> None:
        """Take the write lock on ``conn`` (``BEGIN IMMEDIATE``)."""
        conn.execute("BEGIN IMMEDIATE")

    def end(self) -> None:
        """Nothing to let go of."""

    def close(self) -> None:
        """Nothing to let go of."""


class ShortPoll:
    """Retry ``BEGIN IMMEDIATE``, each attempt waiting at most ``busy_ms`` in SQLite's busy handler,
    sleeping a random ``pause`` (seconds) between attempts, for up to ``timeout`` seconds.

    Raises ``sqlite3.OperationalError`` ("database is locked") once ``timeout`` has passed.
    """

    def __init__(self, *, busy_ms: int = POLL_BUSY_MS, pause: tuple[float, float] = POLL_PAUSE,
                 timeout: float = 30.0) -> None:
        self.busy_ms, self.pause, self.timeout = busy_ms, pause, timeout
        self._configured: sqlite3.Connection | None = None

    def begin(self, conn: sqlite3.Connection) -> None:
        """Take the write lock on ``conn`` (``BEGIN IMMEDIATE``), polling as described above."""
        if self._configured is not conn:  # once per connection (it was opened, and migrated, with the full timeout)
            conn.execute(f"PRAGMA busy_timeout = {self.busy_ms}")
            self._configured = conn
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(random.uniform(*self.pause))

    def end(self) -> None:
        """Nothing to let go of."""

    def close(self) -> None:
        """Nothing to let go of."""


class WriterQueue:
    """Writers of this host take turns on an exclusive ``flock`` of ``<database>-writers``.

    Args:
        path: the database file; ``:memory:`` (one private connection) needs no queue.

    Raises:
        OSError: the queue file cannot be created or opened beside the database.
    """

    def __init__(self, path: str) -> None:
        self._fd = None if path == ":memory:" else os.open(path + QUEUE_SUFFIX, os.O_RDWR | os.O_CREAT, 0o644)

    def begin(self, conn: sqlite3.Connection) -> None:
        """Wait for this host's turn (sleeping in the kernel), then ``BEGIN IMMEDIATE`` on ``conn``."""
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            conn.execute("BEGIN IMMEDIATE")
        except BaseException:
            self.end()
            raise

    def end(self) -> None:
        """Give up this host's turn."""
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        """Close the queue file (its lock, if held, goes with it)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
