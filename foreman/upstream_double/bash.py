"""``upstream-double-tool-bash``: the ``bash`` tool as Microsoft's module has it, unconfined.

After microsoft/amplifier-module-tool-bash (``__init__.py``): input ``command``, ``timeout``
(seconds, default config ``timeout`` or 30), ``run_in_background``; output ``{"stdout", "stderr",
"returncode"}`` with ``success`` true only for exit code 0; a background command returns
``{"pid", "message"}``. Commands run in ``working_dir`` with nothing made read-only, so the runtime's
own workspace guard is all that watches them.
"""

from __future__ import annotations

import asyncio
from typing import Any

from amplifier_core.models import ToolResult

from .files import with_working_dir

__amplifier_module_type__ = "tool"


class BashTool:
    name = "bash"
    description = "Execute a bash command."
    input_schema = {"type": "object", "required": ["command"], "properties": {
        "command": {"type": "string"}, "timeout": {"type": "integer"}, "run_in_background": {"type": "boolean"}}}

    def __init__(self, config: dict[str, Any]) -> None:
        self.working_dir = config.get("working_dir", ".")
        self.timeout = config.get("timeout", 30)

    async def execute(self, input: dict[str, Any]) -> ToolResult:
        command = input.get("command")
        if not command:
            return ToolResult(success=False, output="Command is required", error={"message": "Command is required"})
        process = await asyncio.create_subprocess_shell(
            command, cwd=self.working_dir, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, start_new_session=True)
        if input.get("run_in_background", False):
            return ToolResult(success=True, output={"pid": process.pid, "message": f"Started with PID {process.pid}"})
        timeout = input.get("timeout", self.timeout)
        try:
            stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=timeout)
        except TimeoutError:
            process.kill()
            await process.wait()
            message = f"Command timed out after {timeout} seconds"
            return ToolResult(success=False, output=message, error={"message": message})
        output = {"stdout": stdout.decode(errors="replace"), "stderr": stderr.decode(errors="replace"),
                  "returncode": process.returncode}
        return ToolResult(success=process.returncode == 0, output=output)


async def mount(coordinator: Any, config: dict[str, Any] | None = None) -> None:
    """Mount ``bash`` at ``tools``; ``working_dir`` defaults to the ``session.working_dir`` capability."""
    tool = BashTool(with_working_dir(coordinator, config))
    await coordinator.mount("tools", tool, name=tool.name)
