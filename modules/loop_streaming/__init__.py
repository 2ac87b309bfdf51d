"""loop-streaming: the agent-loop orchestrator (parallel tools, hooks, cancellation, events).

Mounted at the ``orchestrator`` mount point. Config keys, the events with their
payloads, and the streaming contract for providers are documented in
docs/modules/loop-streaming.md.
"""

from typing import Any

from .config import LoopConfig
from .orchestrator import StreamingOrchestrator
from .provider_call import NoProviderError

__amplifier_module_type__ = "orchestrator"
__all__ = ["LoopConfig", "NoProviderError", "StreamingOrchestrator", "mount"]


async def mount(coordinator: Any, config: dict[str, Any] | None = None) -> None:
    """Mount a :class:`StreamingOrchestrator` at ``orchestrator``.

    Args:
        coordinator: the session's coordinator.
        config: mount-plan config: ``max_iterations`` (int, -1 = unlimited, the default),
            ``system_prompt`` (str).

    Raises:
        ValueError: ``max_iterations`` is 0 or below -1.
    """
    await coordinator.mount("orchestrator", StreamingOrchestrator(LoopConfig.from_mount_config(config)))
