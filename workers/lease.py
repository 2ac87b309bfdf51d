"""The runtime, not the model, keeps a claim alive: heartbeats every ``ttl / 3`` seconds.

The keeper renews whatever claim the session's identity holds at each beat (the runtime's claim,
or one the model took through ``issue_claim``). If a renewal is refused (stale token, expired
lease), the claim is lost: the keeper records why and awaits ``on_lost`` (the runtime cancels the
session), so a worker never keeps working on an issue it no longer owns.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from foreman.issues import Claim, IssueStore
from foreman.issues.errors import IssueError

HEARTBEATS_PER_TTL = 3


class LeaseKeeper:
    """Renews the current claim's lease in the background while the ``async with`` block runs.

    Args:
        store: the issue store.
        current: returns the claim to renew now, or None.
        ttl: lease length in seconds given at each renewal.
        on_lost: awaited once, with the reason, if a renewal is refused.
    """

    def __init__(self, store: IssueStore, current: Callable[[], Claim | None], ttl: float,
                 on_lost: Callable[[str], Awaitable[None]]) -> None:
        self.store, self.current, self.ttl, self.on_lost = store, current, ttl, on_lost
        self.lost_reason: str | None = None
        self._task: asyncio.Task | None = None

    async def __aenter__(self) -> LeaseKeeper:
        self._task = asyncio.create_task(self._run(), name="lease-keeper")
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.ttl / HEARTBEATS_PER_TTL)
            claim = self.current()
            if claim is None:
                continue
            try:
                await asyncio.to_thread(self.store.heartbeat, claim.issue.id, claim.token, ttl=self.ttl)
            except IssueError as exc:
                self.lost_reason = exc.message
                await self.on_lost(exc.message)
                return
