"""``AnthropicProvider``: the amplifier-core Provider protocol over the Messages API.

Talks to the API through the official SDK (``anthropic.AsyncAnthropic``) with the SDK's own
retries off (``sdk_provider`` and ``retries`` say why). Requests are built by ``convert``,
responses read by ``response``.
"""

from __future__ import annotations

import functools
from typing import Any

import anthropic
from amplifier_core.message_models import ChatRequest, ChatResponse
from amplifier_core.models import ModelInfo

from amplifier_foreman_modules.provider_common.sdk_provider import SdkProvider

from .catalog import model_info
from .config import AnthropicSettings
from .convert import request_params
from .response import chat_response


class AnthropicProvider(SdkProvider):
    """Provider ``anthropic``: Claude models through the Messages API."""

    name = "anthropic"
    display_name = "Anthropic"
    capabilities = ["streaming", "tools", "prompt_caching"]
    sdk = anthropic

    def __init__(self, settings: AnthropicSettings, hooks: Any) -> None:
        """``hooks``: the coordinator's HookRegistry, for ``provider:retry`` events."""
        client = anthropic.AsyncAnthropic(
            api_key=settings.api_key, base_url=settings.base_url, timeout=settings.timeout, max_retries=0
        )
        super().__init__(settings, hooks, client)

    async def list_models(self) -> list[ModelInfo]:
        """The models the API lists (GET /v1/models, first 100).

        Raises:
            llm_errors.LLMError: as for ``complete``.
        """
        page = await self._call(lambda: self._client.models.list(limit=100), model=None)
        return [model_info(m) for m in page.data]

    async def complete(self, request: ChatRequest, **kwargs: Any) -> ChatResponse:
        """One model response to ``request``; streamed when config ``stream`` or ``request.stream``.

        ``kwargs`` are accepted for protocol compatibility and ignored.

        Raises:
            llm_errors.LLMError: the mapped failure (see ``wire_errors``) once retries are spent.
        """
        params = request_params(request, self.settings)
        stream = self.settings.stream or bool(request.stream)
        message = await self._call(functools.partial(self._send, params, stream), model=params["model"])
        return chat_response(message)

    async def _send(self, params: dict[str, Any], stream: bool) -> Any:
        if not stream:
            return await self._client.messages.create(**params)
        async with self._client.messages.stream(**params) as events:
            with self._reading_stream(params["model"]):
                return await events.get_final_message()
