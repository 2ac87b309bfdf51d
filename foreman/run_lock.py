"""One ``foreman run`` per database: a lock in the database naming its holder (host, pid, heartbeat).

``foreman run`` takes the lock before it plans and renews it every :data:`HEARTBEAT` seconds; a
second run on the same database is refused with a message naming the running one. The lock is
taken over when its last heartbeat is more than :data:`STALE_AFTER` seconds old, or at once when
its holder ran on this host and that process is gone (a killed run resumed right away).
``foreman worker`` never takes it: any number of workers join a running fleet.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from collections.abc import Callable
from typing import Any

from foreman.issues import IssueStore

HEARTBEAT = 2.0  # seconds between renewals of the run lock
STALE_AFTER = 30.0  # seconds without a heartbeat after which another run takes the lock over


class RunLocked(RuntimeError):
    """Another run holds this database's run lock; the message names it."""


def _alive_here(holder: dict[str, Any]) -> bool:
    """False only when the holder ran on this host and its process no longer exists."""
    if holder.get("host") != socket.gethostname() or not isinstance(holder.get("pid"), int):
        return True
    try:
        os.kill(holder["pid"], 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def describe(holder: dict[str, Any], age: float) -> str:
    """``pid 123 on host h, started 12:00:01, last heartbeat 1.5 s ago``."""
    return (f"pid {holder.get('pid')} on host {holder.get('host')}, started {holder.get('started', '?')}, "
            f"last heartbeat {age:.1f} s ago")


class RunLock:
    """The run lock held by this process (take it with :meth:`acquire`)."""

    def __init__(self, store: IssueStore, holder: dict[str, Any]) -> None:
        self.store = store
        self.holder = holder

    @classmethod
    def acquire(cls, store: IssueStore, *, stale_after: float = STALE_AFTER) -> RunLock:
        """Take the run lock of ``store``'s database for this process.

        Raises:
            RunLocked: a live run holds it (heartbeat younger than ``stale_after`` seconds and,
                on this host, its process still exists).
        """
        mine = {"run_id": uuid.uuid4().hex, "host": socket.gethostname(), "pid": os.getpid(),
                "started": time.strftime("%Y-%m-%d %H:%M:%S")}
        holder, age = store.run_lock_acquire(mine, stale_after=stale_after)
        if holder["run_id"] != mine["run_id"] and not _alive_here(holder):
            holder, age = store.run_lock_acquire(mine, stale_after=stale_after, replacing=holder["run_id"])
        if holder["run_id"] != mine["run_id"]:
            raise RunLocked(f"another `foreman run` is running on this database ({describe(holder, age)}); "
                            "wait for it to finish, add workers to it with `foreman worker`, or use another --db")
        return cls(store, mine)

    async def keep(self, on_lost: Callable[[], None], *, interval: float = HEARTBEAT) -> None:
        """Renew the lock every ``interval`` seconds until cancelled; call ``on_lost`` once if it was taken over."""
        while True:
            await asyncio.sleep(interval)
            if not await asyncio.to_thread(self.store.run_lock_renew, self.holder["run_id"]):
                on_lost()
                return

    def release(self) -> None:
        """Give the lock up (a lock another run took over meanwhile is left alone)."""
        self.store.run_lock_release(self.holder["run_id"])
