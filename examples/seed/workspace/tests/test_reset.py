"""Acceptance checks of the seed issue "Add password reset feature"."""

import unittest

from app import auth


class ResetPasswordTest(unittest.TestCase):
    def setUp(self):
        self.saved = dict(auth.USERS)

    def tearDown(self):
        auth.USERS.clear()
        auth.USERS.update(self.saved)

    def test_reset_stores_the_hash_of_the_new_password(self):
        auth.reset_password("ada", "new")
        self.assertEqual(auth.USERS["ada"], auth.hash_password("new"))

    def test_the_old_password_no_longer_matches(self):
        auth.reset_password("ada", "new")
        self.assertNotEqual(auth.USERS["ada"], auth.hash_password("lovelace"))


if __name__ == "__main__":
    unittest.main()
