"""The runtime, not the model, keeps a claim alive: heartbeats every ``ttl / 3`` seconds.

A keeper renews whatever claim the session's identity holds at each beat (the runtime's claim,
or one the model took through ``issue_claim``). The keepers of one store in one event loop (a
process's workers) renew together: one :class:`LeaseRenewer` beats for all of them, in one store
transaction per beat (``heartbeat_many``; issue 13), so 128 workers cost one write per beat, not 128.
If a renewal is refused (stale token, expired lease) or fails for any other reason (the database
stayed locked past its busy timeout, is unreadable, or anything else raised), the claim is lost: the
keeper records why and awaits ``on_lost`` (the runtime cancels the session), so a worker never keeps
working on an issue whose lease nobody renews.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import Awaitable, Callable

from foreman.issues import Claim, IssueStore, writes
from foreman.issues.errors import IssueError

HEARTBEATS_PER_TTL = 3
log = logging.getLogger(__name__)

#: event loop -> id(store) -> the renewer beating for that store's keepers in that loop
_RENEWERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[int, LeaseRenewer]] = weakref.WeakKeyDictionary()


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
        self._renewer: LeaseRenewer | None = None

    async def __aenter__(self) -> LeaseKeeper:
        self._renewer = LeaseRenewer.of(self.store)
        self._renewer.add(self)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._renewer.discard(self)

    async def lost(self, claim: Claim, exc: Exception) -> None:
        """The renewal of ``claim`` was refused or failed with ``exc``: stop renewing, say why, await ``on_lost``."""
        self._renewer.discard(self)
        self.lost_reason = _reason(exc)
        log.warning("lease of %s lost: %s", claim.issue.id, self.lost_reason)
        await self.on_lost(self.lost_reason)


class LeaseRenewer:
    """Beats for every :class:`LeaseKeeper` of one store in the running event loop.

    Every ``min(ttl) / HEARTBEATS_PER_TTL`` seconds (the shortest lease among its keepers), it
    renews each keeper's current claim in one ``store.heartbeat_many`` call (in a thread), then
    hands each refusal to its keeper; a call that fails as a whole is every keeper's failure. A
    keeper whose lease is shorter than every other's gets a beat at once (renewing early is
    harmless; renewing late loses claims). It stops beating when its last keeper leaves.
    """

    def __init__(self, store: IssueStore) -> None:
        self.store = store
        self._keepers: dict[LeaseKeeper, None] = {}  # insertion-ordered set
        self._task: asyncio.Task | None = None
        self._shorter = asyncio.Event()  # set when a keeper joins with the shortest lease

    @classmethod
    def of(cls, store: IssueStore) -> LeaseRenewer:
        """The renewer of ``store`` in the running event loop (made on first use)."""
        renewers = _RENEWERS.setdefault(asyncio.get_running_loop(), {})
        if id(store) not in renewers:
            renewers[id(store)] = cls(store)
        return renewers[id(store)]

    def add(self, keeper: LeaseKeeper) -> None:
        """Renew ``keeper``'s claims from the next beat on (starting the beats if they had stopped)."""
        if self._keepers and keeper.ttl < min(k.ttl for k in self._keepers):
            self._shorter.set()
        self._keepers[keeper] = None
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="lease-renewer")

    def discard(self, keeper: LeaseKeeper) -> None:
        """Stop renewing for ``keeper`` (no-op if it already left)."""
        self._keepers.pop(keeper, None)

    async def _run(self) -> None:
        try:
            while self._keepers:
                self._shorter.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._shorter.wait(), min(k.ttl for k in self._keepers) / HEARTBEATS_PER_TTL)
                due = [(keeper, claim) for keeper in list(self._keepers) if (claim := keeper.current()) is not None]
                if due:
                    await self._renew(due)
        finally:
            self._task = None
            renewers = _RENEWERS.get(asyncio.get_running_loop(), {})
            if not self._keepers and renewers.get(id(self.store)) is self:  # the next keeper gets a new renewer;
                del renewers[id(self.store)]  # this one lets go of the store

    async def _renew(self, due: list[tuple[LeaseKeeper, Claim]]) -> None:
        renewals = [(claim.issue.id, claim.token, keeper.ttl) for keeper, claim in due]
        try:
            outcomes = await writes.write(self.store, self.store.heartbeat_many, renewals)
        except Exception as exc:  # a renewer that stopped renewing must never leave a session running
            outcomes = [exc] * len(due)
        lost = [keeper.lost(claim, outcome) for (keeper, claim), outcome in zip(due, outcomes, strict=True)
                if isinstance(outcome, Exception) and keeper in self._keepers]  # a keeper that left hears nothing
        await asyncio.gather(*lost)


def _reason(exc: Exception) -> str:
    """Why a renewal did not happen: the store's refusal message, or the fault's type and text."""
    if isinstance(exc, IssueError):
        return exc.message
    return f"lease renewal failed: {type(exc).__name__}: {exc}"
