"""Letter grades for exam scores."""

BANDS = [(90, "A"), (80, "B"), (70, "C"), (60, "D")]


def grade(score):
    """Return the letter for a score from 0 to 100.

    90 and above is A, 80 and above is B, 70 and above is C, 60 and above
    is D, anything lower is F.
    """
    if not 0 <= score <= 100:
        raise ValueError("score must be between 0 and 100")
    for lowest, letter in BANDS:
        if score > lowest:
            return letter
    return "F"
