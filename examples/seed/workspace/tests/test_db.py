"""Acceptance checks of the seed issue "Optimize database queries": one query, same orders."""

import sqlite3
import unittest

from app.db import find_orders


def shop() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, user_id INTEGER, item TEXT)")
    conn.executemany("INSERT INTO orders (user_id, item) VALUES (?, ?)",
                     [(1, "book"), (2, "pen"), (1, "lamp"), (3, "cup")])
    return conn


class FindOrdersTest(unittest.TestCase):
    def test_returns_the_orders_of_the_given_users(self):
        rows = find_orders(shop(), [1, 3])
        self.assertEqual(sorted(row[2] for row in rows), ["book", "cup", "lamp"])

    def test_issues_a_single_query(self):
        conn = shop()
        statements = []
        conn.set_trace_callback(statements.append)
        find_orders(conn, [1, 2, 3])
        selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
        self.assertEqual(len(selects), 1, selects)


if __name__ == "__main__":
    unittest.main()
