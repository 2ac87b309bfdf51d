"""The live view: each worker's state, issue, last action and tokens, and the queue's counts.

Worker rows come from the database's ``workers`` table (each worker reports there, see
:mod:`workers.status`), so workers in the foreman's process, in ``--processes`` processes and in
other shells (``foreman worker``) show up alike. On a terminal it is a rich ``Live`` table
refreshed four times a second; elsewhere (CI, pipes) it prints one line whenever the queue's
counts change.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from foreman.issues import IssueStore
from foreman.issues.fleet_records import WorkerStatus

REFRESH = 0.25  # seconds


def render(rows: list[WorkerStatus], counts: dict[str, int], now: float) -> Group:
    """The view of reported worker statuses and queue counts; ``now`` (epoch seconds) dates each heartbeat."""
    table = Table("worker", "state", "issue", "last action", "calls", "tokens in/out", "pid", "seen",
                  title="amplifier-foreman")
    for s in rows:
        seen = f"{max(0.0, now - s.heartbeat_at.timestamp()):.0f} s ago" if s.heartbeat_at else ""
        table.add_row(escape(s.name), escape(s.state), escape(s.issue_id or ""), escape(s.last_action[:60]),
                      str(s.model_calls), f"{s.input_tokens}/{s.output_tokens}", escape(f"{s.host}:{s.pid}"), seen)
    return Group(table, f"queue  {queue_line(counts)}")


def queue_line(counts: dict[str, int]) -> str:
    """``open: 2  in_progress: 1  ...`` for the queue's counts."""
    return "  ".join(f"{k}: {v}" for k, v in counts.items())


@contextlib.asynccontextmanager
async def live_view(store: IssueStore, console: Console, *, since: float = 0.0) -> AsyncIterator[None]:
    """Show the view while the block runs, with the workers that reported at or after ``since`` (epoch seconds)."""
    task = asyncio.create_task(_refresh(store, console, since))
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def _refresh(store: IssueStore, console: Console, since: float) -> None:
    if not console.is_terminal:
        last = None
        while True:
            counts = await asyncio.to_thread(store.counts)
            if counts != last:
                console.print(f"queue  {queue_line(counts)}")
                last = counts
            await asyncio.sleep(REFRESH)
    with Live(console=console, auto_refresh=False) as live:
        while True:
            rows = await asyncio.to_thread(store.worker_list, since=since)
            counts = await asyncio.to_thread(store.counts)
            live.update(render(rows, counts, store.clock.now()), refresh=True)
            await asyncio.sleep(REFRESH)
