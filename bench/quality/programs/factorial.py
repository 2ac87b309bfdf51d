"""Counting arrangements: n! and the number of ways to order k of n items."""


def factorial(n):
    """Return n! for an integer n >= 0 (0! is 1)."""
    if n < 0:
        raise ValueError("n must be >= 0")
    if n == 0:
        return 0
    return n * factorial(n - 1)


def arrangements(n, k):
    """Return how many ordered ways there are to pick k of n items."""
    return factorial(n) // factorial(n - k)
