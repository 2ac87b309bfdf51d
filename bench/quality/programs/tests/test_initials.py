import unittest

from initials import badge, initials


class InitialsTest(unittest.TestCase):
    def test_three_words(self):
        self.assertEqual(initials("ada king lovelace"), "AKL")

    def test_one_letter_words_and_spaces(self):
        self.assertEqual(initials("  j  r  "), "JR")

    def test_badge(self):
        self.assertEqual(badge("grace hopper"), "GH - grace hopper")
