"""Splitting numbers by parity."""


def is_even(number):
    """Return True when ``number`` is divisible by 2."""
    return number % 2 == 0


def odd_numbers(numbers):
    """Return the odd numbers of ``numbers``, in their original order."""
    return [number for number in numbers if is_even(number)]


def count_odd(numbers):
    """Return how many numbers in ``numbers`` are odd."""
    return len(odd_numbers(numbers))
