"""The live view: each worker's state, issue, last action and tokens, and the queue's counts.

On a terminal it is a rich ``Live`` table refreshed four times a second; elsewhere (CI, pipes) it
prints one line whenever the queue's counts change.
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
from workers.recorder import WorkerStats

REFRESH = 0.25  # seconds


def render(rows: dict[str, WorkerStats], counts: dict[str, int]) -> Group:
    """The view for the current stats and queue counts."""
    table = Table("worker", "state", "issue", "last action", "calls", "tokens in/out", title="amplifier-foreman")
    for name, s in rows.items():
        table.add_row(name, s.state, s.issue_id or "", escape(s.last_action[:60]), str(s.model_calls),
                      f"{s.input_tokens}/{s.output_tokens}")
    queue = "  ".join(f"{k}: {v}" for k, v in counts.items())
    return Group(table, f"queue  {queue}")


@contextlib.asynccontextmanager
async def live_view(store: IssueStore, rows: dict[str, WorkerStats], console: Console) -> AsyncIterator[None]:
    """Show the view while the block runs (``rows`` may gain workers meanwhile)."""
    task = asyncio.create_task(_refresh(store, rows, console))
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def _refresh(store: IssueStore, rows: dict[str, WorkerStats], console: Console) -> None:
    if not console.is_terminal:
        last = None
        while True:
            counts = await asyncio.to_thread(store.counts)
            if counts != last:
                console.print("queue  " + "  ".join(f"{k}: {v}" for k, v in counts.items()))
                last = counts
            await asyncio.sleep(REFRESH)
    with Live(console=console, auto_refresh=False) as live:
        while True:
            live.update(render(rows, await asyncio.to_thread(store.counts)), refresh=True)
            await asyncio.sleep(REFRESH)
