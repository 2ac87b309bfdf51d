"""Order queries for the sample shop."""


def find_orders(conn, user_ids):
    orders = []
    for user_id in user_ids:
        orders += conn.execute("SELECT * FROM orders WHERE user_id = ?", (user_id,)).fetchall()
    return orders
