"""Messages API model list (GET /v1/models) -> amplifier-core ``ModelInfo``."""

from __future__ import annotations

from typing import Any

from amplifier_core.models import ModelInfo, Pricing

from .pricing import Rates, rates_for

CAPABILITIES = ["tools", "streaming", "prompt_caching"]


def model_info(model: Any) -> ModelInfo:
    """ModelInfo for an ``anthropic.types.ModelInfo``.

    ``context_window`` / ``max_output_tokens`` (tokens) are the API's ``max_input_tokens`` /
    ``max_tokens``, 0 when the server does not report them; ``pricing`` comes from ``pricing``
    (None for a model without a known price).
    """
    rates = rates_for(model.id)
    return ModelInfo(
        id=model.id,
        display_name=model.display_name,
        context_window=model.max_input_tokens or 0,
        max_output_tokens=model.max_tokens or 0,
        capabilities=CAPABILITIES,
        pricing=_pricing(rates) if rates else None,
    )


def _pricing(rates: Rates) -> Pricing:
    return Pricing(
        input_per_million=float(rates.input),
        output_per_million=float(rates.output),
        cache_read_per_million=float(rates.cache_read),
        cache_write_per_million=float(rates.cache_write),
    )
