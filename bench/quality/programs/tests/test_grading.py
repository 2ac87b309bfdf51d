import unittest

from grading import grade


class GradeTest(unittest.TestCase):
    def test_inside_a_band(self):
        self.assertEqual(grade(95), "A")
        self.assertEqual(grade(42), "F")

    def test_band_edges(self):
        self.assertEqual(grade(90), "A")
        self.assertEqual(grade(60), "D")
