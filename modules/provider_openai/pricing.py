"""The USD cost of one response, from the price table in the provider's config (issue 12).

Config ``prices`` maps a model id (or ``"*"`` for every model) to USD per million tokens::

    "prices": {"gpt-4o-mini": {"input": 0.15, "output": 0.60}, "*": {"input": 1.0, "output": 3.0}}

OpenAI-compatible servers are often local and free, and hosts price the same model differently,
so there is no built-in table: a model the table does not price costs None ("rate data
unavailable", as amplifier-core's ``Usage.cost_usd`` defines it), except on a server at a loopback
address (``localhost``, ``127.0.0.0/8``, ``::1``), whose answers cost 0.
"""

from __future__ import annotations

import ipaddress
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

PER_TOKENS = Decimal(1_000_000)  # prices are in USD per million tokens


def cost_usd(prices: dict[str, Any] | None, base_url: str | None, model: str | None,
             input_tokens: int | None, output_tokens: int | None) -> Decimal | None:
    """USD cost of one response (token counts in tokens), or None when nothing prices it.

    Raises:
        ValueError: the table's entry for the model is not ``{"input": number, "output": number}``.
    """
    entry = (prices or {}).get(model or "") or (prices or {}).get("*")
    if entry is None:
        return Decimal(0) if _loopback(base_url) else None
    try:
        rates = Decimal(str(entry["input"])), Decimal(str(entry["output"]))
    except (KeyError, TypeError, ArithmeticError) as exc:
        raise ValueError(f"provider-openai: prices[{model!r}] must be {{'input': USD, 'output': USD}} "
                         f"per million tokens, got {entry!r}") from exc
    return (rates[0] * (input_tokens or 0) + rates[1] * (output_tokens or 0)) / PER_TOKENS


def check_prices(prices: dict[str, Any] | None) -> None:
    """Price every entry of the table once, so a malformed one fails when the provider mounts.

    Raises:
        ValueError: an entry is not ``{"input": number, "output": number}``.
    """
    for model in prices or {}:
        cost_usd(prices, None, model, 0, 0)


def _loopback(base_url: str | None) -> bool:
    """True when ``base_url`` names this machine."""
    host = urlsplit(base_url or "").hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
