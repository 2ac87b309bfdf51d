import unittest

from fahrenheit import report, to_fahrenheit


class FahrenheitTest(unittest.TestCase):
    def test_freezing_and_boiling(self):
        self.assertEqual(to_fahrenheit(0), 32)
        self.assertEqual(to_fahrenheit(100), 212)

    def test_minus_forty_is_the_same(self):
        self.assertEqual(to_fahrenheit(-40), -40)

    def test_report(self):
        self.assertEqual(report([37]), ["37.0 C = 98.6 F"])
