"""How the SQLite store takes the database's single write lock (issue 13).

SQLite's own busy handler sleeps 1, 2, 5, 10 ... up to 100 ms between attempts, so under
contention the lock often sits free while every waiter sleeps; polling ``BEGIN IMMEDIATE`` every
0.1-2 ms fills those gaps, but how well depends on the machine it was tuned on. :class:`WriterQueue`
instead queues this host's writers on an exclusive ``flock`` of a file beside the database: a
waiter sleeps in the kernel and wakes the moment the holder's transaction ends, and then
``BEGIN IMMEDIATE`` finds the lock free. Writers that do not queue there (another program, an older
version) are still excluded by SQLite itself; ``BEGIN IMMEDIATE`` waits for them with the
connection's busy handler, so the queue only speeds things up and never decides who may write.
On a quiet machine of this class the queue measured slower than polling (0.35 against 0.47 of raw
SQL at 8 processes: waking a sleeping waiter costs more than a poll that is already spinning), so
:class:`ShortPoll` is the store's default and the queue stays an option. ``bench/bench_queue.py
--lock`` measures the strategies against each other in one run.
"""

from __future__ import annotations

import fcntl
import os
import random
import sqlite3
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol

POLL_BUSY_MS = 50  # ShortPoll: SQLite's own busy wait per attempt, ms (also what reads during a checkpoint get)
POLL_PAUSE = (0.0001, 0.002)  # ShortPoll: seconds slept between attempts (uniform in this range)
QUEUE_SUFFIX = "-writers"  # the queue file is the database's path plus this (issues.db-writers)


class WriteLock(Protocol):
    """A way to run one write transaction under SQLite's write lock."""

    def held(self, conn: sqlite3.Connection) -> AbstractContextManager[None]:
        """Context manager: the write lock is taken (``BEGIN IMMEDIATE`` ran on ``conn``) inside it.

        The caller ends the transaction (COMMIT or ROLLBACK) before the block exits.
        Raises ``sqlite3.OperationalError`` ("database is locked") when the lock cannot be had in time.
        """

    def close(self) -> None:
        """Let go of whatever the strategy holds open (called when the store disconnects)."""


class ShortPoll:
    """Retry ``BEGIN IMMEDIATE``, each attempt waiting at most ``busy_ms`` in SQLite's busy handler,
    sleeping a random ``pause`` (seconds) between attempts, for up to ``timeout`` seconds.

    Raises ``sqlite3.OperationalError`` ("database is locked") once ``timeout`` has passed.
    """

    def __init__(self, *, busy_ms: int = POLL_BUSY_MS, pause: tuple[float, float] = POLL_PAUSE,
                 timeout: float = 30.0) -> None:
        self.busy_ms, self.pause, self.timeout = busy_ms, pause, timeout
        self._configured: sqlite3.Connection | None = None

    @contextmanager
    def held(self, conn: sqlite3.Connection) -> Iterator[None]:
        """Take the write lock on ``conn`` (``BEGIN IMMEDIATE``), polling as described above."""
        if self._configured is not conn:  # once per connection (it was opened, and migrated, with the full timeout)
            conn.execute(f"PRAGMA busy_timeout = {self.busy_ms}")
            self._configured = conn
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                conn.execute("BEGIN IMMEDIATE")
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(random.uniform(*self.pause))
        yield

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

    @contextmanager
    def held(self, conn: sqlite3.Connection) -> Iterator[None]:
        """Wait for this host's turn (sleeping in the kernel), then ``BEGIN IMMEDIATE`` on ``conn``."""
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            conn.execute("BEGIN IMMEDIATE")
            yield
        finally:
            if self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        """Close the queue file (its lock, if held, goes with it)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
