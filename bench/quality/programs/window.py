"""Sums over a sliding window, as a dashboard shows a rolling total."""


def moving_sums(values, size):
    """Return the sum of every run of ``size`` consecutive values, in order.

    ``moving_sums([1, 2, 3, 4], 2)`` is ``[3, 5, 7]``. A window larger than
    the list gives an empty list.
    """
    if size <= 0:
        raise ValueError("size must be positive")
    sums = []
    for start in range(len(values) - size):
        sums.append(sum(values[start:start + size]))
    return sums
