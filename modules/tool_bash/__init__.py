"""Amplifier module tool-bash: the `bash` tool, run in the workspace as a complete, bounded process tree.

Session capability `foreman.sandbox.read_only` (register it before `initialize()`; the fleet's
runtime does, with the user's repository): a list of path strings that commands see read-only,
except the workspace itself, which stays writable (`foreman.sandbox.run_command`'s `read_only` and
`writable`; a mount namespace where the kernel allows it, docs/sandbox.md). Absent: nothing extra
is protected.

Config keys, the deny-list rule and error codes: docs/modules/tool-bash.md.
"""

import os
from typing import Any

from foreman.sandbox import DEFAULT_MAX_PROCESSES, READ_ONLY_CAPABILITY

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
    `env_allow` (names of secret variables commands may still see). The capability
    `foreman.sandbox.read_only` (a list of path strings) names paths commands see read-only,
    the workspace excepted.

    Raises:
        ValueError: when `timeout`, `max_timeout`, `max_output_bytes` or `max_processes` is not
            positive, or `env_allow` or the `foreman.sandbox.read_only` capability is not a list
            of strings.
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
        env_allow=_strings(config.get("env_allow"), "config env_allow", "variable names"),
        read_only=_strings(coordinator.get_capability(READ_ONLY_CAPABILITY), READ_ONLY_CAPABILITY, "paths"),
    )
    await coordinator.mount("tools", tool, name=tool.name)


def _positive(config: dict[str, Any], key: str, default: float, kind: type = int) -> Any:
    value = kind(config.get(key, default))
    if value > 0:
        return value
    raise ValueError(f"{MODULE}: config {key} must be > 0, got {value!r}")


def _strings(value: Any, what: str, kind: str) -> tuple[str, ...]:
    """`value` (a list of strings, or None for none) as a tuple; ValueError naming `what` otherwise."""
    value = value or []
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise ValueError(f"{MODULE}: {what} must be a list of {kind}, got {value!r}")
