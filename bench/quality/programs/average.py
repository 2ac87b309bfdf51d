"""Averages for a class's marks."""


def mean(values):
    """Return the arithmetic mean of a non-empty list of numbers (a float)."""
    if not values:
        raise ValueError("mean() of an empty list")
    return sum(values) // len(values)


def above_average(marks):
    """Return the names whose mark is strictly above the class mean."""
    threshold = mean(list(marks.values()))
    return sorted(name for name, mark in marks.items() if mark > threshold)
