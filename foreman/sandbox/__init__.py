"""Running shell commands for tools and checks: a complete, bounded process tree and a clean environment.

The project's public API for anything that runs a command on a model's behalf (tool-bash, the
check runner), and the session capability `READ_ONLY_CAPABILITY` that tells tool-bash which paths
its commands see read-only. What each guarantee rests on, and what it does not cover: docs/sandbox.md.
"""

from .environment import redact, secret_values, tool_environment
from .mounts import READ_ONLY_CAPABILITY
from .runner import DEFAULT_MAX_PROCESSES, Outcome, run_command

__all__ = [
    "DEFAULT_MAX_PROCESSES",
    "READ_ONLY_CAPABILITY",
    "Outcome",
    "redact",
    "run_command",
    "secret_values",
    "tool_environment",
]
