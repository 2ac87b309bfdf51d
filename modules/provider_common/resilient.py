"""One logical API call: errors translated, retryable ones retried, each retry announced.

Shared by provider-anthropic and provider-openai (see ``wire_errors`` and ``retries``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import ModuleType
from typing import Any, TypeVar

from .retries import RetryPolicy, call_with_retries, retry_announcer
from .wire_errors import translated

T = TypeVar("T")


async def resilient_call(
    operation: Callable[[], Awaitable[T]],
    *,
    sdk: ModuleType,
    provider: str,
    model: str | None,
    policy: RetryPolicy,
    hooks: Any,
) -> T:
    """Await ``operation()`` (one HTTP exchange through ``sdk``) with translation and retries.

    Each attempt's SDK and transport errors become ``llm_errors`` (``wire_errors.translated``);
    retryable ones are retried under ``policy``, emitting ``provider:retry`` on ``hooks`` first.

    Raises:
        llm_errors.LLMError: the last attempt's error, or the first non-retryable one.
    """

    async def attempt() -> T:
        with translated(sdk, provider=provider, model=model):
            return await operation()

    announce = retry_announcer(hooks, provider=provider, model=model, policy=policy)
    return await call_with_retries(attempt, policy, announce)
