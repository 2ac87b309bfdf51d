"""Acceptance checks of the seed issue "Fix login authentication bug"."""

import unittest

from app.auth import login


class LoginTest(unittest.TestCase):
    def test_right_password_logs_in(self):
        self.assertTrue(login("ada", "lovelace"))

    def test_wrong_password_is_refused(self):
        self.assertFalse(login("ada", "wrong"))
        self.assertFalse(login("ada", ""))

    def test_unknown_user_is_refused(self):
        self.assertFalse(login("nobody", "lovelace"))


if __name__ == "__main__":
    unittest.main()
