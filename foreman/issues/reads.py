"""Store reads from async code: on the event loop when the store's reads never wait, else in a thread.

A thread hop (``asyncio.to_thread``) costs the event loop a wake-up through its self-pipe: 0.1-0.15
ms of CPU in this sandbox, more than an indexed SQLite read itself (about 0.06 ms; see
docs/benchmarks.md, fleet efficiency). SQLite reads in WAL mode, each thread on its own
connection, never wait for the writer, so they run inline; PostgreSQL's go over the network and
``:memory:``'s share the writer's lock, so they keep their thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from foreman.issues.interfaces import IssueStore

T = TypeVar("T")


async def read(store: IssueStore, call: Callable[..., T], *args, **kwargs) -> T:
    """``call(*args, **kwargs)``, which only reads ``store``: inline when ``store.inline_reads``, else
    in a thread. Raises whatever ``call`` raises."""
    if store.inline_reads:
        return call(*args, **kwargs)
    return await asyncio.to_thread(call, *args, **kwargs)
