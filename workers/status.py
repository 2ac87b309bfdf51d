"""Each worker (and the foreman) reports its state to the database's ``workers`` table.

A :class:`StatusReporter` writes the worker's :class:`~foreman.runtime.recorder.WorkerStats` as its row
(:class:`~foreman.issues.fleet_records.WorkerStatus`: name, type, host, pid, state, issue, last
action, model calls, tokens, heartbeat time): at once when the worker calls :meth:`changed` (a
state change), otherwise every :data:`REPORT_INTERVAL` seconds, and a last time when it stops. The
live view, the summary and a dashboard read those rows, so a worker in another process or shell
shows up the same as one in the foreman's process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket

from foreman.issues import IssueStore
from foreman.issues.fleet_records import WorkerStatus
from foreman.runtime.recorder import WorkerStats

REPORT_INTERVAL = 1.0  # seconds between writes while only counters and the last action change
log = logging.getLogger(__name__)


class StatusReporter:
    """Keeps one worker's ``workers`` row current while the ``async with`` block runs.

    Args:
        store: the issue store.
        name: the worker's unique name (the row's key).
        worker_type: the plan's ``fleet.worker_type`` (``foreman`` for the foreman).
        stats: the worker's running totals, read at each write.
        interval: seconds between writes when :meth:`changed` is not called.
    """

    def __init__(self, store: IssueStore, name: str, worker_type: str, stats: WorkerStats,
                 interval: float = REPORT_INTERVAL) -> None:
        self.store = store
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
        return WorkerStatus(name=self.name, worker_type=self.worker_type, host=socket.gethostname(), pid=os.getpid(),
                            state=s.state, issue_id=s.issue_id, last_action=s.last_action, model_calls=s.model_calls,
                            input_tokens=s.input_tokens, output_tokens=s.output_tokens, cost_usd=s.cost_usd,
                            closed=len(s.closed), blocked=len(s.blocked), failed=len(s.failed))

    def changed(self) -> None:
        """The worker's state changed: write the row now rather than at the next interval."""
        self._wake.set()

    async def __aenter__(self) -> StatusReporter:
        await self._write()
        self._task = asyncio.create_task(self._run(), name=f"status-{self.name}")
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        # Stop the loop and wait for it, never cancel it: a cancelled write still runs in its thread
        # and could land after the final one (a stopped worker shown as idle).
        self._stopping = True
        self._wake.set()
        await self._task
        await self._write()

    async def _run(self) -> None:
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.interval):
                    await self._wake.wait()
            self._wake.clear()
            if not self._stopping:
                await self._write()

    async def _write(self) -> None:
        """Write the row; a failed write is logged and skipped (the status is never worth stopping a worker)."""
        try:
            await asyncio.to_thread(self.store.worker_put, self.snapshot())
        except Exception as exc:
            log.warning("%s: could not report status: %s", self.name, exc)
