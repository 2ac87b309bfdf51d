"""Amplifier module tool-bash: the `bash` tool, run in the workspace in its own process group.

Config keys, the deny-list rule and error codes: docs/modules/tool-bash.md.
"""

import os
from typing import Any

from .denylist import DEFAULT_DENIED_COMMANDS
from .tool import BashTool

__amplifier_module_type__ = "tool"
__all__ = ["mount", "BashTool", "DEFAULT_DENIED_COMMANDS"]

DEFAULT_TIMEOUT = 120.0  # seconds per command
DEFAULT_MAX_TIMEOUT = 600.0  # seconds: the ceiling for a call's `timeout`
DEFAULT_MAX_OUTPUT_BYTES = 30_000  # bytes of output kept per call (head + tail)


async def mount(coordinator: Any, config: dict[str, Any] | None) -> None:
    """Mount the `bash` tool at the `tools` mount point.

    The workspace is config `working_dir`, else the coordinator capability `session.working_dir`,
    else the process's current directory at mount time. Other keys: `timeout`, `max_timeout`
    (seconds), `denied_commands` (list of patterns; replaces the defaults, `[]` disables) and
    `max_output_bytes`.
    """
    config = config or {}
    workspace = config.get("working_dir") or coordinator.get_capability("session.working_dir") or os.getcwd()
    denied = config.get("denied_commands")
    tool = BashTool(
        working_dir=str(workspace),
        timeout=float(config.get("timeout", DEFAULT_TIMEOUT)),
        max_timeout=float(config.get("max_timeout", DEFAULT_MAX_TIMEOUT)),
        denied_commands=tuple(DEFAULT_DENIED_COMMANDS if denied is None else denied),
        max_output_bytes=int(config.get("max_output_bytes", DEFAULT_MAX_OUTPUT_BYTES)),
    )
    await coordinator.mount("tools", tool, name=tool.name)
