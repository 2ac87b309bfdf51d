"""USD prices of Anthropic models, per model family, and the cost of one response.

Source: Anthropic's pricing page (https://www.anthropic.com/pricing): the rates published with
each model's launch, up to the 2026-05-06 verification recorded in the reference provider
(microsoft/amplifier-module-provider-anthropic, ``_cost.py``). Prompt-caching rates follow the
same page: a cache write (5-minute TTL, the ``ephemeral`` default) costs 1.25x the base input
rate, a cache read 0.1x. Families launched after that date are absent, so they cost None (below).

Rule for model ids: the longest family prefix in ``PRICES`` that the id starts with decides
(``claude-sonnet-4-5-20250929`` -> ``claude-sonnet-4-5``). An id no prefix matches has no known
price: its cost is None ("rate data unavailable", as ``amplifier_core`` Usage.cost_usd defines),
never 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

PER_MILLION = Decimal(1_000_000)
CACHE_WRITE_FACTOR = Decimal("1.25")
CACHE_READ_FACTOR = Decimal("0.1")


@dataclass(frozen=True)
class Rates:
    """USD per million tokens."""

    input: Decimal
    output: Decimal

    @property
    def cache_write(self) -> Decimal:
        return self.input * CACHE_WRITE_FACTOR

    @property
    def cache_read(self) -> Decimal:
        return self.input * CACHE_READ_FACTOR


def _rates(input_usd: str, output_usd: str) -> Rates:
    return Rates(Decimal(input_usd), Decimal(output_usd))


#: Model-family prefix -> rates (USD per million input / output tokens).
PRICES: dict[str, Rates] = {
    "claude-opus-4-8": _rates("5", "25"),
    "claude-opus-4-7": _rates("5", "25"),
    "claude-opus-4-6": _rates("5", "25"),
    "claude-opus-4-5": _rates("5", "25"),
    "claude-opus-4-1": _rates("15", "75"),
    "claude-opus-4-2025": _rates("15", "75"),
    "claude-sonnet-4-6": _rates("3", "15"),
    "claude-sonnet-4-5": _rates("3", "15"),
    "claude-sonnet-4-2025": _rates("3", "15"),
    "claude-haiku-4-5": _rates("1", "5"),
    "claude-3-5-haiku": _rates("0.80", "4"),
    "claude-3-haiku": _rates("0.25", "1.25"),
}


def rates_for(model: str) -> Rates | None:
    """The rates of ``model``'s family (longest matching prefix), or None if unknown."""
    matches = [prefix for prefix in PRICES if model.startswith(prefix)]
    return PRICES[max(matches, key=len)] if matches else None


def cost_usd(
    model: str, *, fresh_input: int, output: int, cache_read: int, cache_write: int
) -> Decimal | None:
    """USD cost of one response from token counts (each in tokens), or None for an unknown model.

    ``fresh_input`` is the Messages API's ``input_tokens`` (which excludes cached tokens),
    ``cache_read`` / ``cache_write`` its ``cache_read_input_tokens`` / ``cache_creation_input_tokens``.
    """
    rates = rates_for(model)
    if rates is None:
        return None
    total = (
        fresh_input * rates.input
        + output * rates.output
        + cache_read * rates.cache_read
        + cache_write * rates.cache_write
    )
    return total / PER_MILLION
