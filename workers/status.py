"""Each worker (and the foreman) reports its state to the database's ``workers`` table.

A :class:`StatusReporter` writes the worker's :class:`~foreman.runtime.recorder.WorkerStats` as its row
(:class:`~foreman.issues.fleet_records.WorkerStatus`: name, type, host, pid, state, issue, last
action, model calls, tokens, heartbeat time): at once when the worker calls :meth:`changed` (a
state change), otherwise every :data:`REPORT_INTERVAL` seconds, and a last time when it stops. The
live view, the summary and a dashboard read those rows, so a worker in another process or shell
shows up the same as one in the foreman's process. The reporters of one process share a
:class:`StatusBoard`, which writes the rows that changed in a burst in one transaction
(:class:`~foreman.runtime.coalescing.CoalescingWriter`; 32 workers changing state at once would
otherwise queue 32 commits and 32 thread hops).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import socket

from foreman.issues import IssueStore, writes
from foreman.issues.fleet_records import WorkerStatus
from foreman.runtime.coalescing import CoalescingWriter
from foreman.runtime.recorder import WorkerStats

REPORT_INTERVAL = 1.0  # seconds between writes while only counters and the last action change
log = logging.getLogger(__name__)


@functools.cache
def _host() -> str:
    """This machine's host name, asked once per process (a system call per row showed in the fleet profile)."""
    return socket.gethostname()


class StatusBoard:
    """Writes the ``workers`` rows of a process's reporters, the latest of each, in batches.

    Args:
        store: the issue store.
    """

    def __init__(self, store: IssueStore) -> None:
        self.store = store
        self._pending: dict[str, WorkerStatus] = {}
        self._writer = CoalescingWriter(self._write)

    def put(self, status: WorkerStatus) -> None:
        """Queue ``status`` as its worker's row (replacing one not yet written); starts a writer if none runs."""
        self._pending[status.name] = status
        self._writer.kick()

    async def flush(self) -> None:
        """Wait until every row queued so far is written (or its write failed and was logged)."""
        await self._writer.flush()

    async def _write(self) -> None:
        """Write batches until nothing is pending; a failed batch is logged and skipped (a status is
        never worth stopping a worker)."""
        while self._pending:
            batch = list(self._pending.values())
            self._pending = {}
            try:
                await writes.write(self.store, self.store.workers_put, batch)
            except Exception as exc:
                log.warning("could not report the status of %s: %s", ", ".join(s.name for s in batch), exc)


class StatusReporter:
    """Keeps one worker's ``workers`` row current while the ``async with`` block runs.

    Args:
        store: the issue store.
        name: the worker's unique name (the row's key).
        worker_type: the plan's ``fleet.worker_type`` (``foreman`` for the foreman).
        stats: the worker's running totals, read at each write.
        interval: seconds between writes when :meth:`changed` is not called.
        board: the process's shared :class:`StatusBoard`; default: one of its own.
    """

    def __init__(self, store: IssueStore, name: str, worker_type: str, stats: WorkerStats,
                 interval: float = REPORT_INTERVAL, board: StatusBoard | None = None) -> None:
        self.board = board or StatusBoard(store)
        self.name = name
        self.worker_type = worker_type
        self.stats = stats
        self.interval = interval
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task | None = None

    def snapshot(self) -> WorkerStatus:
        """The row for the worker's current stats."""
        s = self.stats
        return WorkerStatus(name=self.name, worker_type=self.worker_type, host=_host(), pid=os.getpid(),
                            state=s.state, issue_id=s.issue_id, last_action=s.last_action, model_calls=s.model_calls,
                            input_tokens=s.input_tokens, output_tokens=s.output_tokens, cost_usd=s.cost_usd,
                            closed=len(s.closed), blocked=len(s.blocked), failed=len(s.failed))

    def changed(self) -> None:
        """The worker's state changed: write the row now rather than at the next interval."""
        self._wake.set()

    async def __aenter__(self) -> StatusReporter:
        self.board.put(self.snapshot())
        await self.board.flush()
        self._task = asyncio.create_task(self._run(), name=f"status-{self.name}")
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        # Stop the loop and wait for it, never cancel it; the board writes one batch at a time, so an
        # older row still being written never lands after the final one (a stopped worker shown as idle).
        self._stopping = True
        self._wake.set()
        await self._task
        self.board.put(self.snapshot())
        await self.board.flush()

    async def _run(self) -> None:
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.interval):
                    await self._wake.wait()
            self._wake.clear()
            if not self._stopping:
                self.board.put(self.snapshot())
