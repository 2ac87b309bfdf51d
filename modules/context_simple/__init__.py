"""context-simple: in-memory conversation history with tool-pair-safe compaction.

Mounted at the ``context`` mount point. Config keys, the token estimate and the
compaction rules are documented in docs/modules/context-simple.md.
"""

from typing import Any

from .config import ContextConfig
from .manager import SimpleContextManager

__amplifier_module_type__ = "context"
__all__ = ["ContextConfig", "SimpleContextManager", "mount"]


async def mount(coordinator: Any, config: dict[str, Any] | None = None) -> None:
    """Mount a :class:`SimpleContextManager` at ``context``.

    Args:
        coordinator: the session's coordinator (its ``hooks`` receive ``context:compaction``).
        config: mount-plan config; keys as in :class:`ContextConfig`.

    Raises:
        ValueError: a config value is out of range.
    """
    context = SimpleContextManager(ContextConfig.from_mount_config(config), hooks=coordinator.hooks)
    await coordinator.mount("context", context)
