"""Bounds on what the issue database accepts (SQLite's integers, lease lengths, UTF-8 text) and needs (disk).

The store checks them (so every caller gets one clear :class:`~foreman.issues.errors.InvalidInput`
instead of an ``OverflowError`` or a ``NaN`` lease) and the CLI checks its options against the same
bounds to name the option at fault.
"""

from __future__ import annotations

import math

from foreman.issues.errors import InvalidText, NumberOutOfRange

SQLITE_INT_MIN = -(2**63)  #: SQLite's INTEGER is a signed 64-bit value
SQLITE_INT_MAX = 2**63 - 1
MAX_LEASE_TTL = 366 * 24 * 3600.0  #: seconds; leases are renewed by heartbeats, so a year is past any real use
DISK_FULL_BYTES = 1 << 20  #: free bytes under which an SQLite I/O error is taken to be a full disk
_SHOWN_DIGITS = 24  # characters of a huge number echoed in a message


def check_int(label: str, value: int) -> None:
    """Refuse an integer SQLite cannot store.

    Args:
        label: what the number is, for the message (e.g. ``--limit``).
        value: the integer.

    Raises:
        NumberOutOfRange: ``value`` is outside ``[-2**63, 2**63 - 1]``.
    """
    if not SQLITE_INT_MIN <= value <= SQLITE_INT_MAX:
        digits = str(value)
        shown = digits if len(digits) <= _SHOWN_DIGITS else f"{digits[:_SHOWN_DIGITS]}... ({len(digits)} digits)"
        bounds = f"{SQLITE_INT_MIN} to {SQLITE_INT_MAX}"
        raise NumberOutOfRange(f"{label}: {shown} is outside what the database can store ({bounds})")


def check_finite(label: str, value: float) -> None:
    """Refuse ``inf`` and ``nan``. Raises :class:`NumberOutOfRange`."""
    if not math.isfinite(value):
        raise NumberOutOfRange(f"{label}: {value} is not a finite number")


def check_ttl(ttl: float) -> None:
    """A lease lasts ``ttl`` seconds: finite, above zero, at most :data:`MAX_LEASE_TTL`.

    Raises:
        NumberOutOfRange: anything else (``nan``, ``inf``, zero, negative, past a year).
    """
    if not (math.isfinite(ttl) and 0 < ttl <= MAX_LEASE_TTL):
        raise NumberOutOfRange(f"lease ttl must be seconds above 0 and at most {MAX_LEASE_TTL:.0f} (a year), got {ttl}")


def check_text(label: str, value: str) -> None:
    """Refuse text that cannot be stored as UTF-8 (lone surrogates, e.g. non-UTF-8 bytes from argv).

    Raises:
        InvalidText: naming the first bad character's position (1-based).
    """
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidText(f"{label}: not valid UTF-8 at character {exc.start + 1}; give the text in UTF-8") from exc
