"""Finding live processes by a marker in their arguments, for tests of process clean-up."""

import uuid
from pathlib import Path

from foreman.sandbox.cgroup import PidsCgroup


def cgroup_available() -> bool:
    """Whether a pids cgroup can be made here (the process bound of foreman.sandbox works)."""
    cgroup = PidsCgroup.create(1)
    if cgroup is not None:
        cgroup.remove()
    return cgroup is not None


def marker() -> str:
    """A unique `sleep` duration (e.g. `300.1234567`): a process whose arguments hold it is the test's own."""
    return f"300.{uuid.uuid4().int % 10**9}"


def live_with(argument: str) -> list[int]:
    """Pids of live processes (zombies excluded: nothing reaps orphans in some containers) that
    have `argument` as one of their command-line arguments."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            arguments = (entry / "cmdline").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if argument.encode() in arguments and state != "Z":
            found.append(int(entry.name))
    return found
