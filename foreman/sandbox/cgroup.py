"""A pids cgroup per command: the one bound on the number of processes that also binds root.

`RLIMIT_NPROC` (`ulimit -u`) does not apply to root, so the bound is the kernel's pids controller:
a fresh cgroup per command with `pids.max` set, which counts every process and thread in it and
makes `fork()` fail with EAGAIN past the limit, whoever the user. It works with cgroup v2 when the
pids controller is enabled for the worker's cgroup, and with the cgroup v1 pids hierarchy, found
through /proc/self/cgroup and /proc/self/mountinfo. When neither is writable `PidsCgroup.create`
returns None and there is no per-command bound (docs/sandbox.md).
"""

from __future__ import annotations

import functools
import itertools
import os
from dataclasses import dataclass
from pathlib import Path

NAME_PREFIX = "foreman-sandbox"  # cgroups are named foreman-sandbox-<worker pid>-<n>
JOIN_SCRIPT = 'echo $$ > "$0" && exec "$@"'  # for `sh -c`: move into the cgroup, then become the command
_serial = itertools.count()


@functools.cache
def candidate_parents() -> tuple[Path, ...]:
    """This process's own cgroup directories that could hold a pids cgroup: the cgroup v2 one
    first, then the v1 pids hierarchy's; only those whose filesystem is mounted here."""
    memberships = {}  # "" for cgroup v2, else the v1 controller list -> path inside the hierarchy
    for line in _read_lines("/proc/self/cgroup"):
        _, controllers, path = line.split(":", 2)
        memberships[controllers] = path
    v2, v1 = [], []
    for line in _read_lines("/proc/self/mountinfo"):
        fields, _, tail = line.partition(" - ")
        root, mount_point = fields.split()[3:5]
        fstype, _, options = (tail.split() + ["", ""])[:3]
        if fstype == "cgroup2" and "" in memberships:
            v2.append(_inside(mount_point, root, memberships[""]))
        if fstype == "cgroup" and "pids" in options.split(","):
            path = next((p for c, p in memberships.items() if "pids" in c.split(",")), None)
            if path is not None:
                v1.append(_inside(mount_point, root, path))
    return tuple(v2 + v1)


@dataclass(frozen=True)
class PidsCgroup:
    """One command's cgroup; `path` is its directory in the cgroup filesystem."""

    path: Path

    @classmethod
    def create(cls, max_processes: int) -> PidsCgroup | None:
        """A new, empty cgroup whose `pids.max` is `max_processes` (processes and threads), or
        None when no pids controller is writable here."""
        for parent in candidate_parents():
            path = parent / f"{NAME_PREFIX}-{os.getpid()}-{next(_serial)}"
            try:
                path.mkdir()
            except OSError:
                continue
            cgroup = cls(path)
            try:
                (path / "pids.max").write_text(str(max_processes))
            except OSError:
                cgroup.remove()
                continue
            return cgroup
        return None

    def join_prefix(self) -> list[str]:
        """argv to put in front of a command so that it runs inside this cgroup from its first
        instruction: `sh` writes its own pid to `cgroup.procs`, then execs the command (same pid),
        so nothing is ever forked outside. If the write fails the command does not run."""
        return ["sh", "-c", JOIN_SCRIPT, str(self.path / "cgroup.procs")]

    def members(self) -> set[int]:
        """Pids of the live processes in the cgroup (zombies are not listed)."""
        return {int(pid) for pid in _read_lines(self.path / "cgroup.procs")}

    def remove(self) -> None:
        """Remove the cgroup directory; a cgroup that still has processes stays (EBUSY)."""
        try:
            self.path.rmdir()
        except OSError:
            pass


def _inside(mount_point: str, root: str, path: str) -> Path:
    """The directory of cgroup `path` given a mount of its hierarchy at `mount_point` whose own root is `root`."""
    return Path(mount_point) / os.path.relpath(path, root)


def _read_lines(path: str | Path) -> list[str]:
    """The lines of a (pseudo) file; none when it cannot be read (not Linux, no /proc)."""
    try:
        return Path(path).read_text().splitlines()
    except OSError:
        return []
