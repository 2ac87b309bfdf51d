"""provider-anthropic's config keys (see ``settings.ProviderSettings`` for the shared ones)."""

from __future__ import annotations

import dataclasses

from amplifier_foreman_modules.provider_common.settings import ProviderSettings


@dataclasses.dataclass(frozen=True)
class AnthropicSettings(ProviderSettings):
    """Settings for the Messages API.

    Attributes:
        default_model: claude-sonnet-4-6 (claude-sonnet-4-5 reaches end of life on 2026-11-30,
            per the SDK's deprecation table).
        enable_prompt_caching: mark the stable prefix (system prompt, tool definitions) with
            ``cache_control: ephemeral`` so the API caches it (Messages API prompt caching).
        stream: default True: Anthropic asks for streaming on requests that may run longer than
            10 minutes (large max_tokens), since a silent HTTP request that long may be dropped by
            the network; the SDK refuses such non-streaming calls under its default timeout.
    """

    MODULE = "provider-anthropic"
    API_KEY_ENV = "ANTHROPIC_API_KEY"
    BASE_URL_ENV = "ANTHROPIC_BASE_URL"

    default_model: str = "claude-sonnet-4-6"
    max_tokens: int = 8192
    enable_prompt_caching: bool = True
