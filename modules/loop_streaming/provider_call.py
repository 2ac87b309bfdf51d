"""Choosing the provider and making one model call, with provider:response / provider:error.

Streaming contract (used when the provider has a ``stream`` method, else ``complete``):
``provider.stream(request)`` returns an async iterable whose items are text deltas
(``str``, or a dict ``{"content": str, "block_type": "text"}``; other block types are
skipped) and, last, the assembled ``ChatResponse`` with tool calls and usage. Without
a final ``ChatResponse`` the deltas are joined into a text-only response.
"""

from typing import Any, NamedTuple

from amplifier_core.events import CONTENT_BLOCK_DELTA, PROVIDER_ERROR, PROVIDER_RESPONSE
from amplifier_core.message_models import ChatRequest, ChatResponse, TextBlock, ToolCall, Usage

from .messages import response_text

DEFAULT_PRIORITY = 100  # priority of a provider that declares none; lower is preferred


class NoProviderError(RuntimeError):
    """No provider is mounted, so the loop cannot call a model."""


class Reply(NamedTuple):
    """One model turn: the response and the tool calls the provider parsed from it."""

    response: ChatResponse
    calls: list[ToolCall]


def select_provider(providers: dict[str, Any]) -> tuple[str, Any]:
    """The ``(name, provider)`` with the lowest priority; ties go to the first mounted.

    A provider's priority is its ``priority`` attribute, else ``config["priority"]``,
    else ``DEFAULT_PRIORITY``.

    Raises:
        NoProviderError: ``providers`` is empty.
    """
    if not providers:
        raise NoProviderError("loop-streaming: no provider is mounted at 'providers'")
    return min(providers.items(), key=lambda item: _priority(item[1]))


def _priority(provider: Any) -> float:
    priority = getattr(provider, "priority", None)
    config = getattr(provider, "config", None)
    if priority is None and isinstance(config, dict):
        priority = config.get("priority")
    return DEFAULT_PRIORITY if priority is None else priority


class ProviderCaller:
    """Calls one provider and reports each call as events.

    Args:
        name: the provider's mount name (used in event payloads).
        provider: the provider (amplifier-core Provider protocol).
        hooks: the hook registry.
        cancellation: the session's cancellation token, or None; an immediate cancellation
            stops reading a stream.
    """

    def __init__(self, name: str, provider: Any, hooks: Any, cancellation: Any | None):
        self.name = name
        self.provider = provider
        self._hooks = hooks
        self._cancellation = cancellation

    async def call(self, request: ChatRequest, iteration: int) -> Reply | None:
        """Send ``request``; emits ``provider:response`` (or ``provider:error``).

        Returns:
            The reply, or None when an immediate cancellation interrupted a stream.

        Raises:
            Exception: whatever the provider raised, after ``provider:error``.
        """
        try:
            response = await self._fetch(request, iteration)
            reply = None if response is None else Reply(response, self.provider.parse_tool_calls(response) or [])
        except Exception as error:
            await self._hooks.emit(PROVIDER_ERROR, self._error_payload(error, iteration))
            raise
        if reply is not None:
            await self._hooks.emit(PROVIDER_RESPONSE, self._response_payload(reply, iteration))
        return reply

    async def _fetch(self, request: ChatRequest, iteration: int) -> ChatResponse | None:
        if hasattr(self.provider, "stream"):
            return await self._stream(request, iteration)
        return await self.provider.complete(request)

    async def _stream(self, request: ChatRequest, iteration: int) -> ChatResponse | None:
        deltas: list[str] = []
        final = None
        stream = self.provider.stream(request)
        try:
            async for chunk in stream:
                if self._cancellation is not None and self._cancellation.is_immediate:
                    return None
                if isinstance(chunk, ChatResponse):
                    final = chunk
                elif delta := _delta_text(chunk):
                    deltas.append(delta)
                    delta_event = {"provider": self.name, "iteration": iteration, "delta": delta}
                    await self._hooks.emit(CONTENT_BLOCK_DELTA, delta_event)
        finally:
            if hasattr(stream, "aclose"):
                await stream.aclose()
        return final if final is not None else ChatResponse(content=[TextBlock(text="".join(deltas))])

    def _response_payload(self, reply: Reply, iteration: int) -> dict[str, Any]:
        response = reply.response
        return {
            "provider": self.name,
            "iteration": iteration,
            "model": (response.metadata or {}).get("model"),
            "usage": usage_payload(response.usage),
            "text": response_text(response),
            "tool_calls": [{"id": call.id, "name": call.name, "arguments": call.arguments} for call in reply.calls],
            "finish_reason": response.finish_reason,
        }

    def _error_payload(self, error: Exception, iteration: int) -> dict[str, Any]:
        return {
            "provider": self.name,
            "iteration": iteration,
            "error": {"type": type(error).__name__, "message": str(error)},
            "retryable": getattr(error, "retryable", None),
            "retry_after": getattr(error, "retry_after", None),
        }


def _delta_text(chunk: Any) -> str:
    if isinstance(chunk, str):
        return chunk
    if isinstance(chunk, dict) and chunk.get("block_type", "text") == "text":
        return chunk.get("content") or ""
    return ""


def usage_payload(usage: Usage | None) -> dict[str, Any] | None:
    """Token usage as JSON: counts in tokens (None = not reported), ``cost_usd`` a float in USD.

    ``cost_usd`` is None when the provider has no rate data (not zero).
    """
    if usage is None:
        return None
    return {
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "total_tokens": usage.total_tokens,
        "cache_read_tokens": usage.cache_read_tokens,
        "cache_write_tokens": usage.cache_write_tokens,
        "reasoning_tokens": usage.reasoning_tokens,
        "cost_usd": None if usage.cost_usd is None else float(usage.cost_usd),
    }
