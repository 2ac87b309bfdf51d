"""Every process one command started, found and killed however it tried to leave.

A `ProcessTree` marks the command with a random cookie in its environment (`FOREMAN_SANDBOX_ID`),
which every descendant inherits through `fork` and `exec` whatever its session, process group or
parent, and, where one is writable, puts it in its own pids cgroup (`cgroup.py`), which bounds the
number of processes and lists its members exactly. Its members are the union of both. `kill()`
sends SIGKILL to every member, again and again until none is left (a process that forked between
two passes is caught by the next one). Not caught: a process that both cleared its environment
(`env -i`) and left the cgroup (a write to the cgroup filesystem, root only), or, with no cgroup,
cleared its environment; the PID namespace (`namespace.py`) kills those too where it is available.
"""

from __future__ import annotations

import os
import secrets
import signal
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from .cgroup import PidsCgroup
from .namespace import isolation_prefix

COOKIE_VARIABLE = "FOREMAN_SANDBOX_ID"
SWEEP_PAUSE = 0.01  # seconds between two kill passes
SWEEP_LIMIT = 5.0  # seconds of kill passes before giving up on processes that will not die


class ProcessTree:
    """The processes of one command.

    Args:
        max_processes: `pids.max` of its cgroup (processes and threads at once, the command's
            shell included); None for no cgroup.
    """

    def __init__(self, max_processes: int | None) -> None:
        self.cookie = secrets.token_hex(16)
        self.cgroup = None if max_processes is None else PidsCgroup.create(max_processes + _overhead())

    def argv(self, command: str, confinement: Sequence[str] = ()) -> list[str]:
        """The argv that runs `bash -c command` inside this tree: in the cgroup, then in a PID
        namespace, then behind `confinement` (`mounts.confinement`: read-only mounts in that namespace)."""
        join = self.cgroup.join_prefix() if self.cgroup else []
        return [*join, *isolation_prefix(), *confinement, "bash", "-c", command]

    def environment(self, base: Mapping[str, str]) -> dict[str, str]:
        """`base` plus the cookie that marks the tree's processes."""
        return {**base, COOKIE_VARIABLE: self.cookie}

    def members(self) -> set[int]:
        """Pids of the tree's live processes (zombies excluded)."""
        marked = self.cgroup.members() if self.cgroup else set()
        marker = f"\0{COOKIE_VARIABLE}={self.cookie}\0".encode()
        for entry in os.scandir("/proc"):
            if entry.name.isdigit() and marker in _environ(entry.path):
                marked.add(int(entry.name))
        marked.discard(os.getpid())
        return marked

    def signal(self, signum: int) -> None:
        """Send `signum` to every member once."""
        for pid in self.members():
            _send(pid, signum)

    def kill(self) -> None:
        """SIGKILL every member until none is left (at most `SWEEP_LIMIT` seconds), then remove the cgroup.

        Blocks for `SWEEP_PAUSE` between passes; a call whose processes had all exited returns
        after one pass."""
        deadline = time.monotonic() + SWEEP_LIMIT
        while (pids := self.members()) and time.monotonic() < deadline:
            for pid in pids:
                _send(pid, signal.SIGKILL)
            time.sleep(SWEEP_PAUSE)
        if self.cgroup:
            self.cgroup.remove()


def _overhead() -> int:
    """Processes the sandbox itself keeps in the cgroup: `unshare` when the namespace is used."""
    return 1 if isolation_prefix() else 0


def _environ(process: str) -> bytes:
    """A process's initial environment, NUL-framed; empty for zombies and processes we may not read."""
    try:
        return b"\0" + Path(process, "environ").read_bytes()
    except OSError:
        return b""


def _send(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except (ProcessLookupError, PermissionError):
        pass  # already gone
