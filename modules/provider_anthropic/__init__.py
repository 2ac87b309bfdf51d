"""Amplifier module provider-anthropic: Claude through the Messages API (official SDK).

Mounts one ``AnthropicProvider`` at ``providers`` under the name ``anthropic``. Config keys and
the error mapping are documented in docs/modules/provider-anthropic.md.

Also home of the pieces provider-openai shares (both SDKs fail and retry alike):
``wire_errors`` (SDK errors -> llm_errors, Retry-After parsing), ``retries`` (backoff policy,
provider:retry events), ``resilient`` (the two combined) and ``settings`` (config reading).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from .config import AnthropicSettings
from .provider import AnthropicProvider

__all__ = ["mount", "AnthropicProvider", "AnthropicSettings"]

__amplifier_module_type__ = "provider"


async def mount(coordinator: Any, config: dict[str, Any] | None = None) -> Callable[[], Awaitable[None]]:
    """Mount the provider as ``providers/anthropic``; return the cleanup that closes its client.

    Raises:
        llm_errors.ConfigurationError: no API key (config ``api_key`` or ANTHROPIC_API_KEY), or
            a config value of the wrong type.
    """
    provider = AnthropicProvider(AnthropicSettings.from_config(config), coordinator.hooks)
    await coordinator.mount("providers", provider, name=provider.name)
    return provider.close
