"""Reading a provider's mount-plan ``config`` (plus environment fallbacks) into typed settings.

Shared by provider-anthropic and provider-openai: each subclasses ``ProviderSettings`` to add
its own keys and name its environment variables. Values may arrive as JSON types or as
strings (YAML, env); each is converted to the field's type, and a value that does not convert
is a ``ConfigurationError`` naming the key.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import types
import typing
from collections.abc import Mapping
from typing import Any, ClassVar, Self

from amplifier_core.llm_errors import ConfigurationError

from .retries import RetryPolicy

logger = logging.getLogger(__name__)

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclasses.dataclass(frozen=True)
class ProviderSettings:
    """Config keys both providers take. Units: seconds for times, tokens for sizes.

    Attributes:
        api_key: credential; config ``api_key``, else the ``API_KEY_ENV`` environment variable.
        base_url: API root; config ``base_url``, else ``BASE_URL_ENV``, else the SDK's default.
        default_model: model id used when a request names none.
        max_tokens: output token limit per response, unless the request sets max_output_tokens.
        temperature: sampling temperature; None leaves it to the server.
        timeout: seconds to wait for each HTTP request (connect, and each read when streaming).
        priority: orchestrators pick the provider with the lowest priority first.
        stream: read responses as server-sent events (the ChatResponse is the same either way).
        max_retries: retries after the first attempt for retryable errors (0 = none).
        min_retry_delay: first backoff delay in seconds (doubles per retry).
        max_retry_delay: cap on the backoff delay in seconds (a server's Retry-After is not capped).
        retry_jitter: add up to min_retry_delay seconds of random delay to each backoff.
    """

    MODULE: ClassVar[str] = "provider"
    API_KEY_ENV: ClassVar[str] = ""
    BASE_URL_ENV: ClassVar[str] = ""

    api_key: str = dataclasses.field(repr=False)
    base_url: str | None = None
    default_model: str = ""
    max_tokens: int = 4096
    temperature: float | None = None
    timeout: float = 600.0
    priority: int = 100
    stream: bool = True
    max_retries: int = 5
    min_retry_delay: float = 1.0
    max_retry_delay: float = 60.0
    retry_jitter: bool = True

    @property
    def retry_policy(self) -> RetryPolicy:
        """The retry keys as a ``RetryPolicy``."""
        return RetryPolicy(self.max_retries, self.min_retry_delay, self.max_retry_delay, self.retry_jitter)

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | None, env: Mapping[str, str] = os.environ) -> Self:
        """Settings from a mount-plan ``config`` dict, with ``env`` for the key and URL fallbacks.

        Raises:
            ConfigurationError: a value has the wrong type, max_retries is negative, or no API key
                is configured (see ``missing_api_key``).
        """
        config = dict(config or {})
        hints = typing.get_type_hints(cls)
        names = {f.name for f in dataclasses.fields(cls)}
        for unknown in sorted(set(config) - names):
            logger.warning("%s: ignoring unknown config key %r", cls.MODULE, unknown)
        values = {name: _convert(cls.MODULE, name, config[name], hints[name]) for name in names & set(config)}
        values["base_url"] = values.get("base_url") or env.get(cls.BASE_URL_ENV) or None
        values["api_key"] = (
            values.get("api_key") or env.get(cls.API_KEY_ENV) or cls.missing_api_key(values["base_url"])
        )
        settings = cls(**values)
        if settings.max_retries < 0:
            raise ConfigurationError(f"{cls.MODULE}: max_retries must be >= 0, got {settings.max_retries}")
        return settings

    @classmethod
    def missing_api_key(cls, base_url: str | None) -> str:
        """The key to use when none is configured; by default there is none, so raise.

        Raises:
            ConfigurationError: always, naming the config key and the environment variable.
        """
        raise ConfigurationError(
            f"{cls.MODULE}: no API key: set config 'api_key' or the {cls.API_KEY_ENV} environment variable"
        )


def _convert(module: str, name: str, value: Any, hint: Any) -> Any:
    target = _non_optional(hint)
    if value is None and target is not hint:
        return None
    try:
        if target is bool:
            return _to_bool(value)
        return target(value)
    except (TypeError, ValueError):
        raise ConfigurationError(f"{module}: config {name}={value!r} is not a {target.__name__}") from None


def _non_optional(hint: Any) -> Any:
    if isinstance(hint, types.UnionType):
        return next(arg for arg in typing.get_args(hint) if arg is not type(None))
    return hint


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE | _FALSE:
        return text in _TRUE
    raise ValueError(value)
