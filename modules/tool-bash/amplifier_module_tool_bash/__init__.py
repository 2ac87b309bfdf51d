"""Amplifier module tool-bash: the `bash` tool, run in the workspace as a complete, bounded process tree.

Config keys, the deny-list rule and error codes: docs/modules/tool-bash.md.
"""

import os
from typing import Any

from foreman.sandbox import DEFAULT_MAX_PROCESSES

from .denylist import DEFAULT_DENIED_COMMANDS
from .tool import BashTool

__amplifier_module_type__ = "tool"
MODULE = "tool-bash"
__all__ = ["mount", "BashTool", "DEFAULT_DENIED_COMMANDS"]

DEFAULT_TIMEOUT = 120.0  # seconds per command
DEFAULT_MAX_TIMEOUT = 600.0  # seconds: the ceiling for a call's `timeout`
DEFAULT_MAX_OUTPUT_BYTES = 30_000  # bytes of output kept per call (head + tail)


async def mount(coordinator: Any, config: dict[str, Any] | None) -> None:
    """Mount the `bash` tool at the `tools` mount point.

    The workspace is config `working_dir`, else the coordinator capability `session.working_dir`,
    else the process's current directory at mount time. Other keys: `timeout`, `max_timeout`
    (seconds), `denied_commands` (list of patterns; replaces the defaults, `[]` disables),
    `max_output_bytes`, `max_processes` (processes and threads per command) and
    `env_allow` (names of secret variables commands may still see).

    Raises:
        ValueError: when `timeout`, `max_timeout`, `max_output_bytes` or `max_processes` is not
            positive, or `env_allow` is not a list of strings.
    """
    config = config or {}
    workspace = config.get("working_dir") or coordinator.get_capability("session.working_dir") or os.getcwd()
    denied = config.get("denied_commands")
    tool = BashTool(
        working_dir=str(workspace),
        timeout=_positive(config, "timeout", DEFAULT_TIMEOUT, float),
        max_timeout=_positive(config, "max_timeout", DEFAULT_MAX_TIMEOUT, float),
        denied_commands=tuple(DEFAULT_DENIED_COMMANDS if denied is None else denied),
        max_output_bytes=_positive(config, "max_output_bytes", DEFAULT_MAX_OUTPUT_BYTES),
        max_processes=_positive(config, "max_processes", DEFAULT_MAX_PROCESSES),
        env_allow=_names(config, "env_allow"),
    )
    await coordinator.mount("tools", tool, name=tool.name)


def _positive(config: dict[str, Any], key: str, default: float, kind: type = int) -> Any:
    value = kind(config.get(key, default))
    if value > 0:
        return value
    raise ValueError(f"{MODULE}: config {key} must be > 0, got {value!r}")


def _names(config: dict[str, Any], key: str) -> tuple[str, ...]:
    names = config.get(key) or []
    if isinstance(names, list) and all(isinstance(name, str) for name in names):
        return tuple(names)
    raise ValueError(f"{MODULE}: config {key} must be a list of variable names, got {names!r}")
