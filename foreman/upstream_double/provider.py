"""``upstream-double-provider-anthropic``: the rehearsal's FAKE LLM behind upstream's event contract.

Like microsoft/amplifier-module-provider-anthropic, ``complete()`` emits ``llm:response`` with
``provider``, ``model``, ``status``, ``duration_ms`` and ``usage`` holding only the contract's keys
(``input_tokens``, ``output_tokens``; amplifier-core docs/contracts/PROVIDER_CONTRACT.md).
Config: ``role`` (``foreman``, ``validator`` or a worker's) picks the rehearsal script.
"""

from __future__ import annotations

import time
from typing import Any

from amplifier_core.events import LLM_RESPONSE
from amplifier_core.message_models import ChatRequest, ChatResponse

from foreman.rehearsal import role_provider

__amplifier_module_type__ = "provider"
NAME = "upstream-double-provider-anthropic"


class EventEmittingProvider:
    """Delegates to ``inner`` (a ScriptedProvider) and emits ``llm:response`` per call on ``hooks``."""

    def __init__(self, inner: Any, hooks: Any) -> None:
        self.inner, self.hooks = inner, hooks
        self.name = NAME

    def get_info(self) -> Any:
        return self.inner.get_info()

    async def list_models(self) -> list[Any]:
        return await self.inner.list_models()

    def parse_tool_calls(self, response: ChatResponse) -> list[Any]:
        return self.inner.parse_tool_calls(response)

    async def complete(self, request: ChatRequest, **kwargs: Any) -> ChatResponse:
        started = time.monotonic()
        response = await self.inner.complete(request, **kwargs)
        usage = {"input_tokens": response.usage.input_tokens, "output_tokens": response.usage.output_tokens}
        await self.hooks.emit(LLM_RESPONSE, {"provider": self.name, "model": self.inner.model, "status": "ok",
                                             "duration_ms": int((time.monotonic() - started) * 1000), "usage": usage})
        return response


async def mount(coordinator: Any, config: dict[str, Any] | None = None) -> None:
    """Mount the scripted provider for config ``role`` (default ``worker``) at ``providers``."""
    role = (config or {}).get("role", "worker")
    await coordinator.mount("providers", EventEmittingProvider(role_provider(role), coordinator.hooks), name=NAME)
