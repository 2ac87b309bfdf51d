"""Initials for name badges."""


def initials(full_name):
    """Return the upper-case first letter of every word of ``full_name``.

    ``initials("ada king lovelace")`` is ``"AKL"``; extra spaces are ignored.
    """
    words = full_name.split()
    return "".join(word[1].upper() for word in words)


def badge(full_name):
    """Return a badge line: the initials, a dash, then the name as given."""
    return f"{initials(full_name)} - {full_name.strip()}"
