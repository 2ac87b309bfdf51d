import unittest

from factorial import arrangements, factorial


class FactorialTest(unittest.TestCase):
    def test_small_values(self):
        self.assertEqual(factorial(0), 1)
        self.assertEqual(factorial(5), 120)

    def test_arrangements(self):
        self.assertEqual(arrangements(5, 2), 20)

    def test_negative_is_refused(self):
        with self.assertRaises(ValueError):
            factorial(-1)
