import unittest

from discount import apply_discount, sale_prices


class DiscountTest(unittest.TestCase):
    def test_one_price(self):
        self.assertEqual(apply_discount(80.0, 25), 60.0)

    def test_many_prices(self):
        self.assertEqual(sale_prices([10.0, 40.0], 10), [9.0, 36.0])

    def test_expensive_items(self):
        self.assertEqual(sale_prices([200.0], 50), [100.0])
