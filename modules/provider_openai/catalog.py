"""Chat Completions model list (GET /v1/models) -> amplifier-core ``ModelInfo``."""

from __future__ import annotations

from typing import Any

from amplifier_core.models import ModelInfo

CAPABILITIES = ["tools", "streaming"]


def model_info(model: Any) -> ModelInfo:
    """ModelInfo for an ``openai.types.Model``.

    The endpoint reports no limits, so ``context_window`` and ``max_output_tokens`` are 0
    (unknown); ``display_name`` is the id; no pricing.
    """
    return ModelInfo(
        id=model.id, display_name=model.id, context_window=0, max_output_tokens=0, capabilities=CAPABILITIES
    )
