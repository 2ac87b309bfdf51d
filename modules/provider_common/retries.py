"""Retrying retryable ``llm_errors`` with exponential backoff that honours Retry-After.

Shared by provider-anthropic and provider-openai. The SDKs' own retries are switched off
(``max_retries=0`` on the client) and tenacity drives the loop, because the SDK loop cannot:
take ``min_retry_delay`` / ``max_retry_delay`` (its delays are constants, 0.5 s to 8 s), tell
anyone it is about to retry (we emit ``provider:retry``), or retry a stream that broke after
its headers arrived (the SDK retries only until a response starts).

Delay before retry n (n = 1, 2, ...), in seconds::

    backoff = min(max_delay, min_delay * 2 ** (n - 1) + uniform(0, min_delay if jitter else 0))
    delay   = max(backoff, retry_after)    # retry_after from the server's header, if any

so the server's Retry-After is a floor that jitter never shortens and max_delay never caps
(RFC 9110 section 10.2.3: the client should wait at least that long).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from amplifier_core.events import PROVIDER_RETRY
from amplifier_core.llm_errors import LLMError
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

T = TypeVar("T")

#: Called before each retry sleep with (retry number from 1, delay in seconds, the error).
OnRetry = Callable[[int, float, LLMError], Awaitable[None]]


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry.

    Attributes:
        max_retries: retries after the first attempt (0 = try once).
        min_delay: first backoff delay, seconds; doubles per retry.
        max_delay: cap on the backoff delay, seconds (not on a server's Retry-After).
        jitter: add up to ``min_delay`` seconds of random delay to each backoff.
    """

    max_retries: int = 5
    min_delay: float = 1.0
    max_delay: float = 60.0
    jitter: bool = True


def _is_retryable(error: BaseException) -> bool:
    return isinstance(error, LLMError) and error.retryable


def _delay(policy: RetryPolicy) -> Callable[[RetryCallState], float]:
    backoff = wait_exponential_jitter(
        multiplier=policy.min_delay, max=policy.max_delay, jitter=policy.min_delay if policy.jitter else 0
    )

    def delay(state: RetryCallState) -> float:
        retry_after = state.outcome.exception().retry_after or 0.0
        return max(backoff(state), retry_after)

    return delay


async def call_with_retries(
    operation: Callable[[], Awaitable[T]], policy: RetryPolicy, on_retry: OnRetry
) -> T:
    """Await ``operation()`` until it succeeds, fails with a non-retryable error, or retries run out.

    Retries only ``LLMError`` with ``retryable`` set; the last error is re-raised unchanged.
    ``on_retry`` runs before each sleep (see ``OnRetry``).
    """

    async def before_sleep(state: RetryCallState) -> None:
        await on_retry(state.attempt_number, state.upcoming_sleep, state.outcome.exception())

    retrying = AsyncRetrying(
        stop=stop_after_attempt(policy.max_retries + 1),
        wait=_delay(policy),
        retry=retry_if_exception(_is_retryable),
        before_sleep=before_sleep,
        reraise=True,
    )
    return await retrying(operation)


def retry_announcer(hooks: Any, *, provider: str, model: str | None, policy: RetryPolicy) -> OnRetry:
    """An ``OnRetry`` that emits ``provider:retry`` on ``hooks`` (a HookRegistry).

    Payload: provider, model, attempt (1-based), max_retries, delay (seconds), retry_after
    (seconds or None), status_code, error_type (llm_errors class name), error_message.
    """

    async def announce(attempt: int, delay: float, error: LLMError) -> None:
        await hooks.emit(
            PROVIDER_RETRY,
            {
                "provider": provider,
                "model": model,
                "attempt": attempt,
                "max_retries": policy.max_retries,
                "delay": delay,
                "retry_after": error.retry_after,
                "status_code": error.status_code,
                "error_type": type(error).__name__,
                "error_message": str(error),
            },
        )

    return announce
