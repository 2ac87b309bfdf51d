"""Live updates: one poller refreshes the read model a few times a second and tells every open
page (a Server-Sent Events stream each) which topics changed; htmx re-fetches the parts of the
page that listen to those topics (``hx-trigger="sse:change"``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from foreman.dashboard.read_model import ReadModel

POLL_INTERVAL = 0.25  # seconds between refreshes: a change shows in the browser within about this plus a fetch
KEEPALIVE = 15.0  # seconds of silence after which a stream sends a comment (proxies and dead peers)
RETRY_MS = 1000  # the browser reconnects this many milliseconds after a lost stream
log = logging.getLogger(__name__)


class LiveFeed:
    """Fans the read model's changed topics out to subscribers (one asyncio queue per open stream)."""

    def __init__(self, model: ReadModel, interval: float = POLL_INTERVAL) -> None:
        self.model = model
        self.interval = interval
        self._queues: set[asyncio.Queue[set[str]]] = set()

    async def run(self) -> None:
        """Refresh and publish until cancelled; a failed refresh is logged and tried again next tick."""
        while True:
            try:
                await self.refresh()
            except Exception as exc:  # a locked or briefly unreadable database must not end the feed
                log.warning("dashboard refresh failed: %s", exc)
            await asyncio.sleep(self.interval)

    async def refresh(self) -> None:
        """One refresh now (also after each control, so its effect shows at once)."""
        topics = await asyncio.to_thread(self.model.refresh)
        if topics:
            for queue in self._queues:
                queue.put_nowait(topics)

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[set[str]]]:
        """A queue receiving each set of changed topics while the block runs."""
        queue: asyncio.Queue[set[str]] = asyncio.Queue()
        self._queues.add(queue)
        try:
            yield queue
        finally:
            self._queues.discard(queue)

    async def stream(self) -> AsyncIterator[str]:
        """The ``text/event-stream`` body: one SSE event per changed topic, keep-alive comments between."""
        async with self.subscribe() as queue:
            yield f"retry: {RETRY_MS}\n\n"
            while True:
                try:
                    topics = await asyncio.wait_for(queue.get(), timeout=KEEPALIVE)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                for topic in sorted(topics):
                    yield f"event: {topic}\ndata: {topic}\n\n"
