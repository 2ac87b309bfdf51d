import unittest

from leap_year import days_in_february, is_leap


class LeapYearTest(unittest.TestCase):
    def test_ordinary_leap_year(self):
        self.assertTrue(is_leap(2024))
        self.assertFalse(is_leap(2023))

    def test_centuries(self):
        self.assertTrue(is_leap(2000))
        self.assertFalse(is_leap(1900))

    def test_february(self):
        self.assertEqual(days_in_february(2024), 29)
