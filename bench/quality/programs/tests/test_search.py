import unittest

from search import contains_all, find_index


class FindIndexTest(unittest.TestCase):
    def test_found(self):
        self.assertEqual(find_index(["a", "b", "c"], "a"), 0)
        self.assertEqual(find_index(["a", "b", "c"], "c"), 2)

    def test_missing(self):
        self.assertEqual(find_index(["a", "b"], "z"), -1)

    def test_contains_all(self):
        self.assertFalse(contains_all(["a", "b"], ["a", "z"]))
