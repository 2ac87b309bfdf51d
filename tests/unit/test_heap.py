"""The collector while workers work (foreman/runtime/heap.py): the heap frozen and young
collections rarer inside, everything as it was after, even when the work raises or blocks overlap."""

from __future__ import annotations

import gc

import pytest

from foreman.runtime.heap import YOUNG_THRESHOLD, settled_heap


def test_inside_the_heap_is_frozen_and_young_collections_are_rarer_and_after_both_are_undone():
    before = gc.get_threshold()
    with settled_heap():
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == (YOUNG_THRESHOLD, *before[1:])
    assert gc.get_freeze_count() == 0 and gc.get_threshold() == before


def test_a_failure_inside_still_undoes_both():
    before = gc.get_threshold()
    with pytest.raises(ZeroDivisionError), settled_heap():
        1 / 0
    assert gc.get_freeze_count() == 0 and gc.get_threshold() == before


def test_overlapping_blocks_keep_the_heap_settled_until_the_last_one_ends():
    before = gc.get_threshold()
    fleet, workers = settled_heap(), settled_heap()
    fleet.__enter__()
    workers.__enter__()
    fleet.__exit__(None, None, None)  # ends first, though it began first: not nested
    assert gc.get_freeze_count() > 0 and gc.get_threshold()[0] == YOUNG_THRESHOLD
    workers.__exit__(None, None, None)
    assert gc.get_freeze_count() == 0 and gc.get_threshold() == before
