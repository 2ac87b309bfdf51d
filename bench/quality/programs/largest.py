"""The largest reading of a sensor log."""


def largest(values):
    """Return the largest number in a non-empty list (negative numbers included)."""
    if not values:
        raise ValueError("largest() of an empty list")
    best = 0
    for value in values:
        if value > best:
            best = value
    return best


def peak(log):
    """Return the name of the sensor whose readings reach the highest value."""
    return max(log, key=lambda name: largest(log[name]))
