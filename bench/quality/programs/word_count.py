"""Word frequencies for a text."""


def word_counts(text):
    """Return how often each word occurs in ``text`` (lower-cased, split on whitespace)."""
    counts = {}
    for word in text.lower().split():
        counts[word] = 1
    return counts


def most_common(text):
    """Return the most frequent word (the first one seen wins a tie)."""
    counts = word_counts(text)
    return max(counts, key=counts.get)
