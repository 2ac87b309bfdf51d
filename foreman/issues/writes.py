"""Store writes from async code: on the event loop when the write lock is free at once, else in a thread.

A thread hop costs the event loop a wake-up through its self-pipe, and the loop thread then waits
for the GIL behind the writing thread: in ``bench/bench_fleet.py`` every hop cost about 0.5 ms
of CPU, more than an uncontended SQLite write (0.1-0.2 ms; docs/benchmarks.md). So a write is
first tried inline without waiting (:meth:`~foreman.issues.sqlite_store.SQLiteStore.not_waiting`);
when another thread or process holds the lock, it runs in a thread, where it waits. PostgreSQL's
writes are network round trips and ``:memory:``'s share one connection: they keep their thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from foreman.issues.errors import WouldWait
from foreman.issues.interfaces import IssueStore

T = TypeVar("T")


async def write(store: IssueStore, call: Callable[..., T], *args, **kwargs) -> T:
    """``call(*args, **kwargs)``, which writes ``store`` (and may read it first): tried inline when
    ``store.inline_writes``, in a thread when that write would wait. ``call`` runs again in the
    thread only if it gave up before its first write, so it is safe for any call whose effects
    outside the store come after its first write. Raises whatever ``call`` raises."""
    if store.inline_writes:
        try:
            with store.not_waiting():
                return call(*args, **kwargs)
        except WouldWait:
            pass
    return await asyncio.to_thread(call, *args, **kwargs)
