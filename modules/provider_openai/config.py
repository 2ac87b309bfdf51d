"""provider-openai's config keys (the shared ones: ``provider_common.settings.ProviderSettings``)."""

from __future__ import annotations

import dataclasses
import logging

from amplifier_foreman_modules.provider_common.settings import ProviderSettings

logger = logging.getLogger(__name__)

#: Sent as the bearer token when ``base_url`` is set and no key is: local OpenAI-compatible
#: servers (Ollama, vLLM without --api-key, LM Studio, llama.cpp server) ignore it.
PLACEHOLDER_API_KEY = "not-needed"


@dataclasses.dataclass(frozen=True)
class OpenAISettings(ProviderSettings):
    """Settings for an OpenAI-compatible Chat Completions server.

    Attributes:
        max_concurrent_requests: at most this many requests in flight per provider instance
            (retry sleeps do not hold a slot); None or 0 = unlimited.
        stream: default False: every OpenAI-compatible server answers plain JSON; streaming asks
            for usage in the last chunk (``stream_options.include_usage``).
        prices: USD per million tokens by model id (``"*"``: any model), e.g.
            ``{"gpt-4o-mini": {"input": 0.15, "output": 0.6}}``; see ``pricing``.
    """

    MODULE = "provider-openai"
    API_KEY_ENV = "OPENAI_API_KEY"
    BASE_URL_ENV = "OPENAI_BASE_URL"

    default_model: str = "gpt-4o-mini"
    stream: bool = False
    max_concurrent_requests: int | None = None
    prices: dict | None = None

    @classmethod
    def missing_api_key(cls, base_url: str | None) -> str:
        """``PLACEHOLDER_API_KEY`` for a custom ``base_url`` (local servers need no key).

        Raises:
            ConfigurationError: no ``base_url`` either (the OpenAI API needs a key).
        """
        if base_url is None:
            return super().missing_api_key(base_url)
        logger.info("%s: no API key configured; sending a placeholder to %s", cls.MODULE, base_url)
        return PLACEHOLDER_API_KEY
