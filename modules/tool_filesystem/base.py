"""What the five filesystem tools share: `execute()` and input checking.

A tool subclasses `FilesystemTool`, sets `name`, `description` and `input_schema`, and implements
`run(input)`, returning the output (text, or for the tools upstream also has, upstream's dict)
and raising `ToolError` for anything the model should hear about. `execute()` runs `run` in a
worker thread (so a large grep does not block the event loop) and turns `ToolError` and `OSError`
into `ToolResult(success=False, output=message, error={"code", "message"})`.
"""

import asyncio
from typing import Any

from amplifier_core.models import ToolResult

from .errors import ToolError


class FilesystemTool:
    """Base of the filesystem tools (structural `Tool` protocol of amplifier-core).

    `workspace_confined`: a call touches only the paths its arguments name, resolved and checked
    against the allowed roots, so the fleet's workspace guard, which checks those same arguments at
    `tool:pre`, need not read the user's checkout around it (workers/guard.py).
    """

    workspace_confined = True
    name: str
    description: str
    input_schema: dict[str, Any]

    def run(self, input: dict[str, Any]) -> Any:
        """Do the work synchronously and return the output for the model; raise `ToolError` on refusal."""
        raise NotImplementedError

    async def execute(self, input: dict[str, Any]) -> ToolResult:
        """Run the tool; never raises for bad input or I/O failures (see module docstring)."""
        try:
            output = await asyncio.to_thread(self.run, input)
        except ToolError as error:
            return error.result()
        except OSError as error:
            where = f" ({error.filename})" if error.filename else ""
            return ToolError("io_error", f"{error.strerror or error}{where}.").result()
        return ToolResult(success=True, output=output)


def text_arg(input: dict[str, Any], key: str, default: str | None = None) -> str:
    """`input[key]` as a string; `default` when absent (required when `default` is None).

    Raises:
        ToolError: `invalid_input` when missing (and required) or not a string.
    """
    value = input.get(key, default)
    if not isinstance(value, str):
        raise ToolError("invalid_input", f"'{key}' must be a string{' (it is required)' if default is None else ''}.")
    return value


def int_arg(input: dict[str, Any], key: str, default: int) -> int:
    """`input[key]` as a positive int, `default` when absent or null.

    Raises:
        ToolError: `invalid_input` for anything but an integer >= 1 (booleans included).
    """
    value = input.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ToolError("invalid_input", f"'{key}' must be an integer >= 1.")
    return value
