import unittest

from countdown import announce, countdown


class CountdownTest(unittest.TestCase):
    def test_from_three(self):
        self.assertEqual(countdown(3), [3, 2, 1])

    def test_from_zero(self):
        self.assertEqual(countdown(0), [])

    def test_announce(self):
        self.assertEqual(announce(2), "2 1 liftoff")
