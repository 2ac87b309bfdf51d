"""The runtime, not the model, keeps a claim alive: heartbeats every ``ttl / 3`` seconds.

The keeper renews whatever claim the session's identity holds at each beat (the runtime's claim,
or one the model took through ``issue_claim``). If a renewal is refused (stale token, expired
lease) or fails for any other reason (the database stayed locked past its busy timeout, is
unreadable, or anything else raised), the claim is lost: the keeper records why and awaits
``on_lost`` (the runtime cancels the session), so a worker never keeps working on an issue whose
lease nobody renews.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from foreman.issues import Claim, IssueStore
from foreman.issues.errors import IssueError

HEARTBEATS_PER_TTL = 3
log = logging.getLogger(__name__)


class LeaseKeeper:
    """Renews the current claim's lease in the background while the ``async with`` block runs.

    Args:
        store: the issue store.
        current: returns the claim to renew now, or None.
        ttl: lease length in seconds given at each renewal.
        on_lost: awaited once, with the reason, if a renewal is refused or fails.
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
            except Exception as exc:  # a keeper that stopped renewing must never leave the session running
                self.lost_reason = _reason(exc)
                log.warning("lease of %s lost: %s", claim.issue.id, self.lost_reason)
                await self.on_lost(self.lost_reason)
                return


def _reason(exc: Exception) -> str:
    """Why a renewal did not happen: the store's refusal message, or the fault's type and text."""
    if isinstance(exc, IssueError):
        return exc.message
    return f"lease renewal failed: {type(exc).__name__}: {exc}"
