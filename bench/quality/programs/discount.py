"""Sale prices for a shop."""


def apply_discount(price, percent):
    """Return ``price`` reduced by ``percent`` per cent, rounded to cents."""
    if not 0 <= percent <= 100:
        raise ValueError("percent must be between 0 and 100")
    return round(price - price * percent / 100, 2)


def sale_prices(prices, percent):
    """Return every price in ``prices`` with the same ``percent`` discount."""
    return [apply_discount(percent, price) for price in prices]
