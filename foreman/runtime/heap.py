"""The garbage collector while workers work: the heap they start with frozen, young objects
collected less often.

A fleet process holds a large heap that lives as long as it does: imported modules, the kernel's
bindings, pydantic's schemas, mount plans. CPython's cyclic collector walks all of it at every
full collection, and the workers of a process share one event loop, so every worker waits for it:
at 128 workers one full collection took 80-155 ms, and the collector 100-200 ms per run in all
(issue 13, docs/benchmarks.md). Frozen (``gc.freeze``), that heap is never walked again; young
collections every :data:`YOUNG_THRESHOLD` net allocations instead of CPython's 700 walk the
sessions' live objects less often. Objects frozen are still freed by reference counting; only
their cycles wait for the unfreeze.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

YOUNG_THRESHOLD = 10_000  # net container allocations between two young collections (CPython: 700)


class _Holders:
    """How many :func:`settled_heap` blocks of this process are open, and the thresholds before the first."""

    count = 0
    thresholds: tuple[int, ...] = ()


@contextmanager
def settled_heap() -> Iterator[None]:
    """Within: the objects tracked when the first open block of the process began are frozen and the
    youngest generation is collected every :data:`YOUNG_THRESHOLD` allocations. When the last open
    block ends (blocks may overlap: a fleet and workers of one process), the thresholds are as they
    were and the frozen objects are collected again (``gc.unfreeze``)."""
    if _Holders.count == 0:
        _Holders.thresholds = gc.get_threshold()
        gc.freeze()
        gc.set_threshold(YOUNG_THRESHOLD, *_Holders.thresholds[1:])
    _Holders.count += 1
    try:
        yield
    finally:
        _Holders.count -= 1
        if _Holders.count == 0:
            gc.set_threshold(*_Holders.thresholds)
            gc.unfreeze()
