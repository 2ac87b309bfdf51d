import unittest

from window import moving_sums


class MovingSumsTest(unittest.TestCase):
    def test_every_window(self):
        self.assertEqual(moving_sums([1, 2, 3, 4], 2), [3, 5, 7])

    def test_window_as_long_as_the_list(self):
        self.assertEqual(moving_sums([5, 6, 7], 3), [18])

    def test_window_longer_than_the_list(self):
        self.assertEqual(moving_sums([1, 2], 3), [])
