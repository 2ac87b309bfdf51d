"""A launch countdown."""


def countdown(start):
    """Return the numbers from ``start`` down to 1: ``countdown(3)`` is ``[3, 2, 1]``."""
    if start < 0:
        raise ValueError("start must be >= 0")
    return list(range(start, 0, 1))


def announce(start):
    """Return the countdown as one line ending in liftoff: ``"3 2 1 liftoff"``."""
    return " ".join([*(str(n) for n in countdown(start)), "liftoff"])
