"""One writer task per batching queue: it starts with the first item, waits :data:`BATCH_WINDOW`
seconds for the rest of the burst, then drains the queue; ``flush()`` cuts the wait short.

Workers in step (they return from the model together) report within milliseconds of each other:
written as they come, 32 workers' events and status rows cost a transaction and a thread hop for
every two or three of them. Waiting a moment puts a whole burst in one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

BATCH_WINDOW = 0.05  # seconds a new writer waits for more items before it drains the queue


class CoalescingWriter:
    """Runs ``drain()`` (writes everything queued so far, until nothing is) after the first :meth:`kick`.

    Args:
        drain: the coroutine function that empties the owner's queue.
    """

    def __init__(self, drain: Callable[[], Awaitable[None]]) -> None:
        self._drain = drain
        self._writer: asyncio.Task | None = None
        self._hurry: asyncio.Future | None = None  # done once flush() asks: the writer stops waiting

    def kick(self) -> None:
        """Something was queued: start a writer unless one is waiting or draining."""
        if self._writer is None or self._writer.done():
            loop = asyncio.get_running_loop()
            self._hurry = loop.create_future()
            self._writer = loop.create_task(self._write(self._hurry))

    async def flush(self) -> None:
        """Wait until everything queued so far is written (the writer's wait is cut short); raises
        what ``drain()`` raised."""
        while self._writer is not None and not self._writer.done():
            if not self._hurry.done():
                self._hurry.set_result(None)
            await asyncio.shield(self._writer)

    async def _write(self, hurry: asyncio.Future) -> None:
        await asyncio.wait([hurry], timeout=BATCH_WINDOW)
        await self._drain()
