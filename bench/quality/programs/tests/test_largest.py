import unittest

from largest import largest, peak


class LargestTest(unittest.TestCase):
    def test_positive_values(self):
        self.assertEqual(largest([3, 9, 4]), 9)

    def test_all_negative(self):
        self.assertEqual(largest([-7, -2, -5]), -2)

    def test_peak(self):
        self.assertEqual(peak({"cellar": [-8, -3], "freezer": [-20, -18]}), "cellar")
