"""Time as a parameter: the store asks a :class:`Clock` for "now" and never reads the system time itself."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """Anything with ``now() -> float`` (seconds since the Unix epoch, UTC)."""

    def now(self) -> float: ...


class SystemClock:
    """The real wall clock (``time.time()``, seconds)."""

    def now(self) -> float:
        """Current time in seconds since the epoch."""
        return time.time()


class FakeClock:
    """A clock for tests that only moves when told to (a test double).

    Args:
        start: initial time in seconds since the epoch.
    """

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = start

    def now(self) -> float:
        """The current fake time in seconds."""
        return self._now

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds``."""
        self._now += seconds
