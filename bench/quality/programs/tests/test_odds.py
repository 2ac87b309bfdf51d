import unittest

from odds import count_odd, odd_numbers


class OddNumbersTest(unittest.TestCase):
    def test_keeps_order(self):
        self.assertEqual(odd_numbers([1, 2, 3, 4, 5]), [1, 3, 5])

    def test_negative_numbers(self):
        self.assertEqual(odd_numbers([-3, -2]), [-3])

    def test_count(self):
        self.assertEqual(count_odd([2, 4, 7]), 1)
