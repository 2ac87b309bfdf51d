"""The keepers of one store in one event loop renew together: one heartbeat_many per beat (issue 13)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable

from foreman.issues import NewIssue, Status
from foreman.issues.errors import StaleToken
from foreman.issues.sqlite_store import SQLiteStore
from foreman.runtime.lease import LeaseKeeper, LeaseRenewer


class CountingStore(SQLiteStore):
    """A real store that records the issue ids of every heartbeat_many call."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.batches: list[list[str]] = []

    def heartbeat_many(self, renewals):
        self.batches.append([issue_id for issue_id, _, _ in renewals])
        return super().heartbeat_many(renewals)


def _claims(store: SQLiteStore, count: int, ttl: float):
    return [store.claim(store.create(NewIssue(title=f"issue {n}")).id, f"w{n}", ttl=ttl) for n in range(count)]


def _recorder() -> tuple[list[str], Callable[[str], Awaitable[None]]]:
    """An ``on_lost`` that records each reason, and the list it records into."""
    lost: list[str] = []

    async def on_lost(reason: str) -> None:
        lost.append(reason)

    return lost, on_lost


def test_keepers_of_one_store_renew_in_one_transaction_per_beat_and_keep_every_lease(tmp_path):
    store = CountingStore(tmp_path / "issues.db", create=True)
    claims = _claims(store, 3, ttl=0.3)
    lost, on_lost = _recorder()

    async def keep() -> None:
        keepers = [LeaseKeeper(store, lambda c=c: c, 0.3, on_lost) for c in claims]
        for keeper in keepers:
            await keeper.__aenter__()
        await asyncio.sleep(0.75)  # two and a half lease lengths
        for keeper in keepers:
            await keeper.__aexit__(None, None, None)

    asyncio.run(keep())
    assert lost == [] and len(store.batches) >= 2 and all(b == [c.issue.id for c in claims] for b in store.batches)
    assert store.sweep() == [] and all(store.get(c.issue.id).status == Status.IN_PROGRESS for c in claims)


def test_a_refused_renewal_loses_only_its_own_claim(tmp_path):
    store = CountingStore(tmp_path / "issues.db", create=True)
    kept, revoked = _claims(store, 2, ttl=0.3)
    kept_lost, kept_on_lost = _recorder()
    lost, on_lost = _recorder()

    async def keep() -> None:
        async with LeaseKeeper(store, lambda: kept, 0.3, kept_on_lost), LeaseKeeper(store, lambda: revoked, 0.3, on_lost):
            store.revoke(revoked.issue.id, reason="stuck", actor="dashboard")
            await asyncio.sleep(0.5)

    asyncio.run(keep())
    assert len(lost) == 1 and "no longer owns the issue" in lost[0] and kept_lost == []
    assert store.batches[0] == [kept.issue.id, revoked.issue.id]
    assert store.batches[-1] == [kept.issue.id], "the lost claim is not renewed again"
    assert store.get(kept.issue.id).status == Status.IN_PROGRESS


def test_a_keeper_with_a_shorter_lease_is_renewed_before_it_runs_out(tmp_path):
    store = CountingStore(tmp_path / "issues.db", create=True)
    [long] = _claims(store, 1, ttl=30)
    short = store.claim(store.create(NewIssue(title="short")).id, "w9", ttl=0.3)
    lost, on_lost = _recorder()

    async def keep() -> None:
        async with LeaseKeeper(store, lambda: long, 30, on_lost):  # beats every 10 s
            await asyncio.sleep(0.05)
            async with LeaseKeeper(store, lambda: short, 0.3, on_lost):
                await asyncio.sleep(0.6)

    asyncio.run(keep())
    assert lost == [] and store.batches and store.batches[0] == [long.issue.id, short.issue.id]
    assert store.get(short.issue.id).status == Status.IN_PROGRESS and store.sweep() == []


class SlowRefusal(SQLiteStore):
    """A real store whose lease renewals wait for ``go`` and are then refused (the claim was revoked).

    Its writes go to a thread, as a renewal that met a held write lock (or PostgreSQL's) does.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.inline_writes = False
        self.started, self.go = threading.Event(), threading.Event()

    def heartbeat_many(self, renewals):
        self.started.set()
        self.go.wait(timeout=30)
        return [StaleToken("revoked meanwhile", id=issue_id, token=token) for issue_id, token, _ in renewals]


def test_a_keeper_that_left_while_its_renewal_was_in_flight_hears_nothing(tmp_path):
    store = SlowRefusal(tmp_path / "issues.db", create=True)
    [claim] = _claims(store, 1, ttl=0.3)
    lost, on_lost = _recorder()

    async def keep() -> None:
        async with LeaseKeeper(store, lambda: claim, 0.3, on_lost):
            await asyncio.to_thread(store.started.wait, 30)  # the renewal is in the store now
        store.go.set()  # refused after the session ended: nobody is cancelled for it
        await asyncio.sleep(0.1)

    asyncio.run(keep())
    assert store.started.is_set() and lost == []


def test_a_renewer_whose_keepers_all_left_stops_and_lets_go_of_its_store(tmp_path):
    store = CountingStore(tmp_path / "issues.db", create=True)
    [claim] = _claims(store, 1, ttl=0.3)
    lost, on_lost = _recorder()

    async def keep() -> tuple[LeaseRenewer, LeaseRenewer]:
        async with LeaseKeeper(store, lambda: claim, 0.3, on_lost):
            first = LeaseRenewer.of(store)
        await asyncio.sleep(0.3)  # past its next beat, which finds nobody
        return first, LeaseRenewer.of(store)

    first, later = asyncio.run(keep())
    assert later is not first and lost == []
