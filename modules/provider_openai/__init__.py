"""Amplifier module provider-openai: Chat Completions on OpenAI or any OpenAI-compatible server.

Mounts one ``OpenAIProvider`` at ``providers`` under the name ``openai``. Config keys, the error
mapping and how to point it at Ollama / vLLM / LM Studio / llama.cpp server are documented in
docs/modules/provider-openai.md.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from .config import PLACEHOLDER_API_KEY, OpenAISettings
from .provider import OpenAIProvider

__all__ = ["mount", "OpenAIProvider", "OpenAISettings", "PLACEHOLDER_API_KEY"]

__amplifier_module_type__ = "provider"


async def mount(coordinator: Any, config: dict[str, Any] | None = None) -> Callable[[], Awaitable[None]]:
    """Mount the provider as ``providers/openai``; return the cleanup that closes its client.

    Raises:
        llm_errors.ConfigurationError: neither an API key (config ``api_key`` or OPENAI_API_KEY)
            nor a ``base_url`` (config or OPENAI_BASE_URL), or a config value of the wrong type.
    """
    provider = OpenAIProvider(OpenAISettings.from_config(config), coordinator.hooks)
    await coordinator.mount("providers", provider, name=provider.name)
    return provider.close
