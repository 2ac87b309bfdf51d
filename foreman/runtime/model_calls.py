"""Which kernel event counts a model call, whichever modules are mounted (issue 9).

amplifier-core names two canonical events for a finished model call (``amplifier_core.events``):
``llm:response``, which a provider MUST emit with its ``usage`` (docs/contracts/PROVIDER_CONTRACT.md),
and ``provider:response``, which an orchestrator emits after ``provider.complete()`` returns
(docs/contracts/ORCHESTRATOR_CONTRACT.md). A session may emit either or both: Microsoft's
provider-anthropic emits ``llm:response`` and Microsoft's loop-streaming no ``provider:response``;
our loop-streaming emits ``provider:response`` and only our provider-llamacpp emits ``llm:response``.

The rule, per session: every ``llm:response`` (but one with ``status: "error"``) is a model call;
a ``provider:response`` is one only while the session's providers have emitted no ``llm:response``.
The provider's event of a call comes before the orchestrator's (it is emitted inside
``complete()``), so no call is counted twice and none is missed.

Logged session events carry the verdict as ``data["model_call"]`` (:func:`is_model_call` reads it;
events logged before issue 9 have none and count when they are ``provider:response``).
"""

from __future__ import annotations

from typing import Any

from amplifier_core.events import LLM_RESPONSE, PROVIDER_RESPONSE

MODEL_CALL_EVENTS = (LLM_RESPONSE, PROVIDER_RESPONSE)
MODEL_CALL = "model_call"  # key of a logged session event: True when it counts a model call


class ModelCallCounter:
    """The per-session rule above; one instance per session and per consumer (recorder, budget)."""

    def __init__(self) -> None:
        self._provider_reports = False

    def counts(self, event: str, data: dict[str, Any]) -> bool:
        """Whether ``event`` (one of :data:`MODEL_CALL_EVENTS`) with payload ``data`` is a model call."""
        if event == LLM_RESPONSE:
            self._provider_reports = True
            return data.get("status") != "error"
        return event == PROVIDER_RESPONSE and not self._provider_reports


def call_usage(usage: dict[str, Any] | None) -> tuple[int, int, float]:
    """A model call's ``usage`` dict as (input tokens, output tokens, cost in USD).

    Missing or null values are 0; numbers serialised as strings (a ``Decimal`` cost dumped with
    ``model_dump(mode="json")``, as in our provider-llamacpp's ``llm:response``) are converted.
    """
    usage = usage or {}
    return (int(usage.get("input_tokens") or 0), int(usage.get("output_tokens") or 0),
            float(usage.get("cost_usd") or 0.0))


def is_model_call(data: dict[str, Any]) -> bool:
    """Whether a logged session event's ``data`` counts a model call (see the module docstring)."""
    return data.get(MODEL_CALL, data.get("event") == PROVIDER_RESPONSE) is True
