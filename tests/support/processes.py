"""Finding live processes by a marker in their arguments, for tests of process clean-up."""

import asyncio
import uuid
from pathlib import Path

import pytest
from amplifier_core.testing import wait_for

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


async def assert_cancelling_kills(task: asyncio.Task, argument: str, flag: Path, running: int) -> None:
    """Wait until `flag` exists and `running` processes with `argument` run, cancel `task`, check
    that it raises `CancelledError` and that every one of them is gone."""
    assert await wait_for(lambda: flag.exists() and len(live_with(argument)) == running, timeout=10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await wait_for(lambda: not live_with(argument), timeout=5)
