"""Failures of an LLM HTTP API, translated to ``amplifier_core.llm_errors``.

Shared by provider-anthropic and provider-openai. Both official SDKs are generated from the same
template and fail the same ways: ``APIStatusError`` (an HTTP error status, with ``status_code`` and
the ``response`` headers), ``APITimeoutError`` (no response in time), ``APIConnectionError`` (no
response at all, or a body cut short), and, while a stream is being read after its headers
arrived, the raw transport errors of the SDKs' HTTP library ``httpx2`` (anthropic) or
``APIConnectionError`` (openai); ``reading_stream`` marks that phase.

Mapping (status codes per RFC 9110 and the providers' error pages; 529 is Anthropic's
``overloaded_error``):

=============================================  ==========================  =========
failure                                        llm_errors class            retryable
=============================================  ==========================  =========
400/413/422 whose text names the context size  ContextLengthError          no
413 (request too large)                        ContextLengthError          no
400/422 otherwise                              InvalidRequestError         no
401                                            AuthenticationError         no
403                                            AccessDeniedError           no
404                                            NotFoundError               no
408                                            LLMTimeoutError             yes
429 whose text mentions a quota                QuotaExceededError          no
429                                            RateLimitError              yes
500, 502, 503, 504, 529, any 5xx               ProviderUnavailableError    yes
other 4xx                                      LLMError                    no
timeout (connect, read, write)                 LLMTimeoutError             yes
connection refused or dropped (plain JSON)     NetworkError                yes
connection dropped while reading a stream      StreamError                 yes
=============================================  ==========================  =========

The context-size, 408 and quota rows and the last three rows are rules of this module; the other
status rows come from the kernel's ``amplifier_core.utils.retry.classify_error_message``, which also
reads the wording of 400/422 and unlisted statuses (e.g. "rate limit" -> RateLimitError).
Every error carries ``provider``, ``model``, ``status_code`` and, when the response had a
``retry-after`` (or ``retry-after-ms``) header, ``retry_after`` in seconds.
"""

from __future__ import annotations

import contextlib
import email.utils
import time
from collections.abc import Iterator, Mapping
from types import ModuleType

import httpx2
from amplifier_core import llm_errors
from amplifier_core.utils.retry import classify_error_message

#: Lower-case phrases servers use when a prompt exceeds the model's context window:
#: Anthropic ("prompt is too long: N tokens > M maximum"), OpenAI and vLLM ("maximum context
#: length", code context_length_exceeded), llama.cpp server ("exceeds the available context size").
CONTEXT_OVERFLOW_PHRASES = (
    "prompt is too long",
    "context length",
    "context_length_exceeded",
    "context size",
    "context window",
    "too many tokens",
)


def parse_retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds the server asked the client to wait, or None if it did not say.

    Reads ``retry-after-ms`` (milliseconds, sent by OpenAI and Anthropic) first, then
    ``retry-after`` as delay-seconds or an HTTP-date (RFC 9110 section 10.2.3). ``now`` is the
    current Unix time in seconds (default ``time.time()``), used only for the date form.
    Negative values become 0.0; unparseable values give None.
    """
    millis = headers.get("retry-after-ms")
    if millis:
        with contextlib.suppress(ValueError):
            return max(0.0, float(millis) / 1000)
    value = headers.get("retry-after")
    if not value:
        return None
    with contextlib.suppress(ValueError):
        return max(0.0, float(value))
    with contextlib.suppress(TypeError, ValueError):
        moment = email.utils.parsedate_to_datetime(value).timestamp()
        return max(0.0, moment - (time.time() if now is None else now))
    return None


def error_class(status: int, message: str) -> type[llm_errors.LLMError]:
    """The ``llm_errors`` class for an HTTP error ``status`` with response text ``message``.

    Rules as in the module table; the rest is ``amplifier_core.utils.retry.classify_error_message``
    (the kernel's status and wording heuristics).
    """
    text = message.lower()
    if status in (400, 413, 422) and any(phrase in text for phrase in CONTEXT_OVERFLOW_PHRASES):
        return llm_errors.ContextLengthError
    if status == 408:
        return llm_errors.LLMTimeoutError
    if status == 429 and "quota" in text:
        return llm_errors.QuotaExceededError
    return classify_error_message(message, status_code=status)


def translate(error: Exception, sdk: ModuleType, *, provider: str, model: str | None) -> llm_errors.LLMError:
    """The ``llm_errors`` exception for an SDK or transport ``error``.

    Args:
        error: an ``sdk.APIError`` or an ``httpx2.TransportError``.
        sdk: the SDK module that raised it (``anthropic`` or ``openai``).
        provider: provider name recorded on the error (e.g. "anthropic").
        model: model id recorded on the error.
    """
    facts = {"provider": provider, "model": model}
    if isinstance(error, sdk.APIStatusError):
        status = error.status_code
        cls = error_class(status, error.message)
        retry_after = parse_retry_after(error.response.headers)
        return cls(f"{provider}: {error.message}", status_code=status, retry_after=retry_after, **facts)
    if isinstance(error, (sdk.APITimeoutError, httpx2.TimeoutException)):
        return llm_errors.LLMTimeoutError(f"{provider}: request timed out: {error!r}", **facts)
    if isinstance(error, (sdk.APIConnectionError, httpx2.TransportError)):
        cause = error.__cause__ or error
        return llm_errors.NetworkError(f"{provider}: connection failed: {cause!r}", **facts)
    return llm_errors.LLMError(f"{provider}: {error}", **facts)


@contextlib.contextmanager
def translated(sdk: ModuleType, *, provider: str, model: str | None) -> Iterator[None]:
    """Context manager: re-raise SDK and transport errors as ``llm_errors`` (original as ``__cause__``).

    Other exceptions (programming errors, cancellation) pass through unchanged.
    """
    try:
        yield
    except (sdk.APIError, httpx2.TransportError) as error:
        raise translate(error, sdk, provider=provider, model=model) from error


@contextlib.contextmanager
def reading_stream(sdk: ModuleType, *, provider: str, model: str | None) -> Iterator[None]:
    """Context manager around reading a stream whose response has started: a connection that
    breaks there raises ``StreamError`` (retryable) instead of ``NetworkError``.

    Timeouts pass through (``translated`` makes them ``LLMTimeoutError``). The openai SDK wraps
    mid-stream transport errors in ``APIConnectionError``, the anthropic SDK does not; both land here.
    """
    try:
        yield
    except (sdk.APITimeoutError, httpx2.TimeoutException):
        raise
    except (sdk.APIConnectionError, httpx2.TransportError) as error:
        cause = error.__cause__ or error
        message = f"{provider}: stream interrupted: {cause!r}"
        raise llm_errors.StreamError(message, provider=provider, model=model) from error
