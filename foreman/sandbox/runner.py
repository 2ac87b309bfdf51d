"""Running `bash -c` so that nothing it starts outlives the call, and so that it can start only so much.

Each command gets a `ProcessTree` (`tree.py`): a cookie in its environment, its own pids cgroup
where one is writable (the bound on processes, `cgroup.py`) and a PID namespace where `unshare`
works (`namespace.py`), where `read_only` paths are bind-mounted read-only (`mounts.py`); it also
starts in a new session, away from the worker's terminal. After the call every process of the tree
is gone:

- normal exit: whatever the command left behind (`sleep 300 &`, `setsid daemon`, `set -m; job &`)
  is killed;
- timeout: SIGTERM to every process of the tree, `TERM_GRACE` seconds for bash to exit, then SIGKILL;
- cancellation of the awaiting task: SIGKILL at once, then `CancelledError` goes on (also when
  cancelled while bash is still starting: the tree is killed as soon as it exists).

Output (stdout and stderr through one pipe, so interleaved as written; with `separate_stderr`, two)
is read as it arrives into a `HeadTailBuffer`. The exit is taken from the child watcher, not from the pipe's end, because a
background process can hold the pipe open after bash has exited.
"""

import asyncio
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .capture import HeadTailBuffer
from .environment import tool_environment
from .mounts import confinement
from .tree import ProcessTree

DEFAULT_MAX_PROCESSES = 256  # processes and threads one command may have at once (its bash included)
TERM_GRACE = 2.0  # seconds between SIGTERM and SIGKILL on timeout
DRAIN_GRACE = 1.0  # seconds to wait for the pipe to close once the tree is killed


@dataclass(frozen=True)
class Outcome:
    """What a command did.

    Attributes:
        exit_code: bash's exit status; negative: killed by that signal; None if it never ended.
        timed_out: True when the timeout passed and the tree was killed.
        output: stdout and stderr interleaved, the head and tail kept within `max_output_bytes`;
            stdout only when the call asked for `separate_stderr`.
        seconds: wall time of the call.
        truncated: True when output was cut (a marker line says how many bytes).
    """

    exit_code: int | None
    timed_out: bool
    output: str
    seconds: float
    truncated: bool
    stderr: str = ""  # with `separate_stderr`: stderr, head and tail within `max_output_bytes`


class _Collector(asyncio.SubprocessProtocol):
    """Feeds the pipe into a buffer and signals the process's exit and the pipe's close."""

    def __init__(self, capture: HeadTailBuffer, errors: HeadTailBuffer) -> None:
        loop = asyncio.get_running_loop()
        self.capture = capture
        self.errors = errors
        self.exited = loop.create_future()
        self.closed = loop.create_future()

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        (self.errors if fd == 2 else self.capture).append(data)

    def process_exited(self) -> None:
        self.exited.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed.set_result(None)


async def run_command(
    command: str,
    cwd: str | Path,
    *,
    timeout: float,
    max_output_bytes: int,
    env: Mapping[str, str] | None = None,
    max_processes: int | None = DEFAULT_MAX_PROCESSES,
    read_only: Sequence[str | Path] = (),
    writable: Sequence[str | Path] = (),
    separate_stderr: bool = False,
) -> Outcome:
    """Run `bash -c command` in `cwd` with stdin from /dev/null, for at most `timeout` seconds.

    Args:
        command: the script for `bash -c`.
        cwd: its working directory.
        timeout: seconds before the tree is terminated.
        max_output_bytes: bytes of output kept (head + tail).
        env: its environment; None means `tool_environment()` (the worker's, without secrets).
        max_processes: processes and threads the command may have at once, bash included; bound
            by a pids cgroup where one is writable (docs/sandbox.md); None for no bound.
        read_only: paths the command sees read-only (bind mounts in its own mount namespace, root
            included; `mounts.py`). Where that is not possible they stay writable and one warning
            is logged per process; the command still runs. Missing paths are skipped.
        writable: paths inside `read_only` ones that stay writable (e.g. the worktree inside the
            repository); no effect without `read_only`.
        separate_stderr: read stderr through its own pipe into `Outcome.stderr` (each stream
            keeps `max_output_bytes`); False: both in `Outcome.output`, interleaved.

    Raises:
        OSError: when bash cannot be started (missing binary, `cwd` not a directory).
        asyncio.CancelledError: when cancelled, after every process of the tree was killed.
    """
    started = time.monotonic()
    capture, errors = HeadTailBuffer(max_output_bytes), HeadTailBuffer(max_output_bytes)
    tree = ProcessTree(max_processes)
    environment = tree.environment(tool_environment() if env is None else env)
    try:
        argv = tree.argv(command, confinement(cwd, read_only, writable))
        stderr = subprocess.PIPE if separate_stderr else subprocess.STDOUT
        transport, collector = await _spawn(argv, tree, cwd, environment, _Collector(capture, errors), stderr)
    except OSError:
        tree.kill()
        raise
    try:
        try:
            timed_out = not await _settled(collector.exited, timeout)
            if timed_out:
                tree.signal(signal.SIGTERM)
                await _settled(collector.exited, TERM_GRACE)
        finally:
            tree.kill()
        await _settled(collector.closed, DRAIN_GRACE)
    finally:
        _close_after_exit(transport, collector)
    seconds = time.monotonic() - started
    truncated = capture.truncated or errors.truncated
    return Outcome(transport.get_returncode(), timed_out, capture.text(), seconds, truncated, errors.text())


async def _spawn(
    argv: list[str], tree: ProcessTree, cwd: str | Path, env: dict[str, str], collector: _Collector, stderr: int
) -> tuple[asyncio.SubprocessTransport, _Collector]:
    """Start the tree's bash in a new session. Cancelled while starting, the tree is killed once
    it exists: asyncio's own clean-up kills only the first process, then waits for the pipe, which
    a background job holds."""
    spawning = asyncio.ensure_future(asyncio.get_running_loop().subprocess_exec(
        lambda: collector,
        *argv,
        cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr,
        start_new_session=True,
    ))
    try:
        return await asyncio.shield(spawning)
    except asyncio.CancelledError:
        spawning.add_done_callback(lambda done: _abandon(done, tree))
        raise


def _abandon(spawning: asyncio.Future, tree: ProcessTree) -> None:
    """Kill the tree of a start that nobody awaits any more, and close its transport."""
    tree.kill()
    if not spawning.cancelled() and spawning.exception() is None:
        _close_after_exit(*spawning.result())


def _close_after_exit(transport: asyncio.SubprocessTransport, collector: _Collector) -> None:
    """Close the transport once the child watcher has seen bash exit. Closing earlier would make
    `Popen.poll()` reap bash behind the watcher's back (asyncio then logs "Unknown child process")."""
    if collector.exited.done():
        transport.close()
    else:
        collector.exited.add_done_callback(lambda _: transport.close())


async def _settled(future: asyncio.Future, seconds: float) -> bool:
    """Whether `future` is done within `seconds` (it is not cancelled on timeout)."""
    done, _ = await asyncio.wait({future}, timeout=seconds)
    return bool(done)
