import unittest

from average import above_average, mean


class MeanTest(unittest.TestCase):
    def test_whole_mean(self):
        self.assertEqual(mean([2, 4, 6]), 4)

    def test_fractional_mean(self):
        self.assertEqual(mean([1, 2]), 1.5)

    def test_above_average(self):
        self.assertEqual(above_average({"ann": 3, "bob": 4}), ["bob"])
