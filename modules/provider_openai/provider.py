"""``OpenAIProvider``: the amplifier-core Provider protocol over Chat Completions.

Talks to OpenAI or any OpenAI-compatible server (Ollama, vLLM, LM Studio, llama.cpp server)
through the official SDK (``openai.AsyncOpenAI``) with the SDK's own retries off; errors,
retries and ``provider:retry`` events come from the shared helper package
``provider_common`` (``sdk_provider``, ``resilient``). Requests are built by ``convert``,
responses read by ``response``, priced by ``pricing``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from typing import Any

import openai
from amplifier_core.llm_errors import ConfigurationError
from amplifier_core.message_models import ChatRequest, ChatResponse
from amplifier_core.models import ModelInfo
from amplifier_foreman_modules.provider_common.sdk_provider import SdkProvider
from openai.lib.streaming.chat import ChatCompletionStreamState

from .catalog import model_info
from .config import OpenAISettings
from .convert import request_params
from .pricing import check_prices, cost_usd
from .response import chat_response


class OpenAIProvider(SdkProvider):
    """Provider ``openai``: Chat Completions on OpenAI or an OpenAI-compatible server."""

    name = "openai"
    display_name = "OpenAI-compatible"
    capabilities = ["streaming", "tools"]
    sdk = openai

    def __init__(self, settings: OpenAISettings, hooks: Any) -> None:
        """``hooks``: the coordinator's HookRegistry, for ``provider:retry`` events."""
        client = openai.AsyncOpenAI(
            api_key=settings.api_key, base_url=settings.base_url, timeout=settings.timeout, max_retries=0
        )
        super().__init__(settings, hooks, client)
        try:
            check_prices(settings.prices)
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from None
        limit = settings.max_concurrent_requests
        self._slots = asyncio.Semaphore(limit) if limit else contextlib.nullcontext()

    async def list_models(self) -> list[ModelInfo]:
        """The models the server lists (GET /v1/models).

        Raises:
            llm_errors.LLMError: as for ``complete``.
        """
        page = await self._call(self._client.models.list, model=None)
        return [model_info(m) for m in page.data]

    async def complete(self, request: ChatRequest, **kwargs: Any) -> ChatResponse:
        """One model response to ``request``; streamed when config ``stream`` or ``request.stream``.

        Waits for a free slot when ``max_concurrent_requests`` are in flight. ``kwargs`` are
        accepted for protocol compatibility and ignored.

        Raises:
            llm_errors.LLMError: the mapped failure (see ``wire_errors``) once retries are spent.
            llm_errors.InvalidToolCallError: the model's tool call arguments are not a JSON object.
        """
        params = request_params(request, self.settings)
        stream = self.settings.stream or bool(request.stream)
        completion = await self._call(functools.partial(self._send, params, stream), model=params["model"])
        response = chat_response(completion)
        if response.usage is not None:
            response.usage.cost_usd = cost_usd(self.settings.prices, self.settings.base_url, completion.model,
                                               response.usage.input_tokens, response.usage.output_tokens)
        return response

    async def _send(self, params: dict[str, Any], stream: bool) -> Any:
        async with self._slots:
            if not stream:
                return await self._client.chat.completions.create(**params)
            return await self._accumulate(params)

    async def _accumulate(self, params: dict[str, Any]) -> Any:
        state = ChatCompletionStreamState()
        chunks = await self._client.chat.completions.create(
            **params, stream=True, stream_options={"include_usage": True}
        )
        async with chunks:
            with self._reading_stream(params["model"]):
                async for chunk in chunks:
                    state.handle_chunk(chunk)
        return state.current_completion_snapshot
