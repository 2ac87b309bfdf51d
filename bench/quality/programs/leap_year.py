"""Calendar helpers: leap years and the length of February."""


def is_leap(year):
    """Return True for a leap year of the Gregorian calendar.

    A year is a leap year when it is divisible by 4 but not by 100, or when
    it is divisible by 400 (2000 and 2024 are leap years, 1900 and 2023 are not).
    """
    return year % 4 == 0 and year % 100 != 0 and year % 400 == 0


def days_in_february(year):
    """Return 29 in a leap year, else 28."""
    return 29 if is_leap(year) else 28
