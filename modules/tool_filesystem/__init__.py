"""Amplifier module tool-filesystem: read_file, write_file, edit_file, list_files, grep.

Every path is confined to the workspace (see `paths.py`); the config keys and error codes are in
docs/modules/tool-filesystem.md.
"""

import asyncio
import os
from typing import Any

from .edit import EditFileTool
from .grep import GrepTool
from .listing import DEFAULT_MAX_RESULTS, ListFilesTool
from .paths import PathPolicy
from .read import DEFAULT_MAX_READ_BYTES, ReadFileTool
from .write import WriteFileTool

__amplifier_module_type__ = "tool"
MODULE = "tool-filesystem"
__all__ = ["mount", "PathPolicy", "ReadFileTool", "WriteFileTool", "EditFileTool", "ListFilesTool", "GrepTool"]


async def mount(coordinator: Any, config: dict[str, Any] | None) -> None:
    """Mount the five tools at the `tools` mount point.

    The workspace is config `working_dir`, else the coordinator capability `session.working_dir`,
    else the process's current directory at mount time. Other config keys: `allowed_read_paths`,
    `allowed_write_paths`, `denied_write_paths` (lists of paths, relative to the workspace unless
    absolute), `max_read_bytes` (bytes per read_file call, default 65536) and `max_results`
    (list_files entries and grep lines per call, default 200).

    Raises:
        ValueError: when `max_read_bytes` or `max_results` is not a positive integer.
    """
    config = config or {}
    workspace = config.get("working_dir") or coordinator.get_capability("session.working_dir") or os.getcwd()
    policy = PathPolicy.from_config(workspace, config)
    max_results = _positive(config, "max_results", DEFAULT_MAX_RESULTS)
    tools = (
        ReadFileTool(policy, _positive(config, "max_read_bytes", DEFAULT_MAX_READ_BYTES)),
        WriteFileTool(policy),
        EditFileTool(policy),
        ListFilesTool(policy, max_results),
        GrepTool(policy, max_results),
    )
    # Mounted together: each mount waits on the kernel's threads; these waits overlap, in mount order.
    await asyncio.gather(*(coordinator.mount("tools", tool, name=tool.name) for tool in tools))


def _positive(config: dict[str, Any], key: str, default: float, kind: type = int) -> Any:
    value = kind(config.get(key, default))
    if value > 0:
        return value
    raise ValueError(f"{MODULE}: config {key} must be > 0, got {value!r}")
