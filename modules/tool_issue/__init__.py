"""Amplifier tool module ``tool-issue``: the issue database as a small set of agent tools.

Mount plan entry::

    {"module": "tool-issue", "config": {"role": "worker", "operations": ["show", "note", "block", "close"]}}

Config keys:
    role: ``worker`` (default) or ``foreman``; a ``foreman.identity`` capability overrides it.
    operations: which tools to mount (default: by role, see :data:`DEFAULT_OPERATIONS`).
    db: database path; else the ``foreman.store`` capability, else ``$FOREMAN_DB``, else
        ``<session.working_dir>/.foreman/issues.db``.
    worker: identity name when no ``foreman.identity`` capability is registered (default: the role).
    require_checks: ``issue_create`` refuses an issue without checks (a research issue needs a
        ``test -s FILE`` check); the foreman's planning session sets it (issue 8).

A worker's ``issue_close`` goes through the runtime's close gate (capability
``foreman.close_gate``): the issue's checks run first and a failure refuses the close with
their output. Without a gate, an issue that has checks cannot be closed through the tool.

The worker's identity and fencing token come from the session (capability ``foreman.identity``),
never from the model. Every failure is a ``ToolResult(success=False, error={"code", "message"})``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from .binding import bind
from .tools import DEFAULT_OPERATIONS, build_tools

__amplifier_module_type__ = "tool"
__all__ = ["DEFAULT_OPERATIONS", "mount"]


async def mount(coordinator: Any, config: dict[str, Any] | None = None) -> None:
    """Mount the issue tools selected by ``config["operations"]`` on ``coordinator``.

    Raises:
        ValueError: an unknown operation name in ``config["operations"]``.
    """
    config = config or {}
    binding = bind(coordinator, config)
    tools = build_tools(binding, config.get("operations"))
    # Mounted together: each mount waits on the kernel's threads; these waits overlap, in mount order.
    await asyncio.gather(*(coordinator.mount("tools", tool, name=tool.name) for tool in tools))
