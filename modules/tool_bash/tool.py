"""The `bash` tool: checks its input and the deny list, runs the command, reports the outcome."""

from dataclasses import dataclass
from typing import Any

from amplifier_core.models import ToolResult

from foreman.sandbox import Outcome, run_command, tool_environment

from .denylist import denied_pattern


def _failure(code: str, message: str, output: dict[str, Any] | None = None) -> ToolResult:
    """A failed call: `output` is the streams when the command ran, else the message (as upstream's)."""
    shown = message if output is None else output
    return ToolResult(success=False, output=shown, error={"code": code, "message": message})


@dataclass
class BashTool:
    """Runs `command` with `bash -c` in `working_dir` through `foreman.sandbox.run_command` (every
    process it starts is killed when the call ends; docs/sandbox.md).

    Attributes:
        working_dir: the workspace.
        timeout: default seconds per call.
        max_timeout: ceiling for the `timeout` input (larger values are lowered to it).
        denied_commands: patterns refused before running (`denylist.py`).
        max_output_bytes: output kept per call, head and tail.
        max_processes: processes and threads a command may have at once.
        env_allow: secret-named variables passed to commands anyway (`foreman.sandbox.tool_environment`).
        read_only: paths commands see read-only, `working_dir` excepted (`foreman.sandbox.run_command`).

    Input and output follow Microsoft's amplifier-module-tool-bash (docs/modules/tool-bash.md):
    `command`, `timeout` (seconds), `run_in_background`; output `{"stdout", "stderr",
    "returncode"}` (plus `"truncated": true` when output was cut; `returncode` negative: killed
    by that signal). `success` is true only for exit code 0. Errors: `invalid_input`,
    `command_denied`, `background_unsupported` (every process a command starts ends with the
    call, docs/sandbox.md), `spawn_failed`, `exit_status` (non-zero exit; output still the
    streams), `timeout` (output: the streams so far, `returncode` null).
    """

    working_dir: str
    timeout: float
    max_timeout: float
    denied_commands: tuple[str, ...]
    max_output_bytes: int
    max_processes: int
    env_allow: tuple[str, ...] = ()
    read_only: tuple[str, ...] = ()

    name = "bash"
    input_schema = {
        "type": "object",
        "properties": {
            "command": {"type": "string", "description": "Bash command to execute"},
            "timeout": {"type": "number", "description": "seconds"},
            "run_in_background": {"type": "boolean", "description": "not supported: every process ends with the call"},
        },
        "required": ["command"],
    }

    @property
    def description(self) -> str:
        return f"Run a bash command in the workspace. Returns output and exit code. Default timeout {self.timeout:g}s."

    async def execute(self, input: dict[str, Any]) -> ToolResult:
        command = input.get("command")
        if not isinstance(command, str) or not command.strip():
            return _failure("invalid_input", "'command' is required and must be a non-empty string.")
        timeout = self.timeout if input.get("timeout") is None else input["timeout"]
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            return _failure("invalid_input", "'timeout' must be a positive number of seconds.")
        pattern = denied_pattern(command, self.denied_commands)
        if pattern is not None:
            message = f"Refused before running: the command matches the denied pattern {pattern!r}."
            return _failure("command_denied", message)
        if input.get("run_in_background") is True:
            message = "run_in_background is not supported here: every process a command starts ends with the call."
            return _failure("background_unsupported", message)
        timeout = min(timeout, self.max_timeout)
        try:
            outcome = await run_command(
                command,
                self.working_dir,
                timeout=timeout,
                max_output_bytes=self.max_output_bytes,
                env=tool_environment(allow=self.env_allow),
                max_processes=self.max_processes,
                read_only=self.read_only,
                writable=[self.working_dir],
                separate_stderr=True,
            )
        except OSError as error:
            return _failure("spawn_failed", f"Could not start bash in {self.working_dir}: {error}.")
        return _report(outcome, timeout)


def _report(outcome: Outcome, timeout: float) -> ToolResult:
    streams: dict[str, Any] = {"stdout": outcome.output, "stderr": outcome.stderr, "returncode": outcome.exit_code}
    if outcome.truncated:
        streams["truncated"] = True
    if outcome.timed_out:
        streams["returncode"] = None
        return _failure("timeout", f"The command timed out after {timeout:g} s; its processes were killed.", streams)
    code = outcome.exit_code
    if code == 0:
        return ToolResult(success=True, output=streams)
    status = f"killed by signal {-code}" if code is not None and code < 0 else f"exit code {code}"
    return _failure("exit_status", f"The command failed ({status}).", streams)
