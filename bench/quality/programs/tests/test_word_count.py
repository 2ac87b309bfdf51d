import unittest

from word_count import most_common, word_counts


class WordCountTest(unittest.TestCase):
    def test_counts(self):
        self.assertEqual(word_counts("the cat the hat"), {"the": 2, "cat": 1, "hat": 1})

    def test_case_is_ignored(self):
        self.assertEqual(word_counts("Go go GO"), {"go": 3})

    def test_most_common(self):
        self.assertEqual(most_common("a b b"), "b")
