"""``SdkProvider``: what provider-anthropic and provider-openai have in common.

Both wrap one official SDK client whose own retries are off; every HTTP exchange goes through
``resilient.resilient_call`` (errors translated, retries, ``provider:retry`` events). Subclasses
set the class attributes, create the client, and implement ``complete`` and ``list_models``
(the amplifier-core Provider protocol; this class is an implementation aid, not a contract).
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from types import ModuleType
from typing import Any, ClassVar, TypeVar

from amplifier_core.message_models import ChatResponse, ToolCall
from amplifier_core.models import ProviderInfo

from .resilient import resilient_call
from .settings import ProviderSettings
from .wire_errors import reading_stream

T = TypeVar("T")


class SdkProvider:
    """Shared half of an SDK-backed provider.

    Attributes:
        name: the provider's mount name.
        priority: lower is preferred by orchestrators (config ``priority``).
        settings: the resolved config.
    """

    name: ClassVar[str]
    display_name: ClassVar[str]
    capabilities: ClassVar[list[str]]
    sdk: ClassVar[ModuleType]

    def __init__(self, settings: ProviderSettings, hooks: Any, client: Any) -> None:
        """``hooks``: the coordinator's HookRegistry (for ``provider:retry``); ``client``: the SDK client."""
        self.settings = settings
        self.priority = settings.priority
        self._hooks = hooks
        self._client = client

    def get_info(self) -> ProviderInfo:
        """Static metadata: id, credential variable, capabilities and configured defaults."""
        return ProviderInfo(
            id=self.name,
            display_name=self.display_name,
            credential_env_vars=[self.settings.API_KEY_ENV],
            capabilities=self.capabilities,
            defaults={
                "model": self.settings.default_model,
                "max_tokens": self.settings.max_tokens,
                "timeout": self.settings.timeout,
                "max_retries": self.settings.max_retries,
            },
        )

    def parse_tool_calls(self, response: ChatResponse) -> list[ToolCall]:
        """The tool calls in ``response`` (empty when the model called none)."""
        return list(response.tool_calls or [])

    async def close(self) -> None:
        """Close the SDK client's HTTP connections (the mount cleanup)."""
        await self._client.close()

    async def _call(self, operation: Callable[[], Awaitable[T]], model: str | None) -> T:
        return await resilient_call(
            operation,
            sdk=self.sdk,
            provider=self.name,
            model=model,
            policy=self.settings.retry_policy,
            hooks=self._hooks,
        )

    def _reading_stream(self, model: str) -> contextlib.AbstractContextManager[None]:
        return reading_stream(self.sdk, provider=self.name, model=model)
