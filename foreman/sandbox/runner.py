"""Running `bash -c` in its own process group, and making sure the whole group is gone afterwards.

The command starts in a new session (`start_new_session=True`), so its process group id is its
pid and every process it forks, background jobs included, shares that group unless it calls
`setsid` itself. After the call nothing of the group is left running:

- normal exit: any process the command left behind (`sleep 300 &`) gets SIGKILL;
- timeout: SIGTERM to the group, `TERM_GRACE` seconds for bash to exit, then SIGKILL to the group;
- cancellation of the awaiting task: SIGKILL to the group at once, then `CancelledError` goes on
  (also when cancelled while bash is still starting: the group is killed as soon as it exists).

Output (stdout and stderr through one pipe, so interleaved as written) is read as it arrives into a
`HeadTailBuffer`. The exit is taken from the child watcher, not from the pipe's end, because a
background process can hold the pipe open after bash has exited.
"""

import asyncio
import os
import signal
import subprocess
from dataclasses import dataclass

from .capture import HeadTailBuffer

TERM_GRACE = 2.0  # seconds between SIGTERM and SIGKILL on timeout
DRAIN_GRACE = 1.0  # seconds to wait for the pipe to close once the group is killed


@dataclass(frozen=True)
class Outcome:
    """What a command did: `exit_code` (negative: killed by that signal), `timed_out`, `output` text."""

    exit_code: int | None
    timed_out: bool
    output: str


class _Collector(asyncio.SubprocessProtocol):
    """Feeds the pipe into a buffer and signals the process's exit and the pipe's close."""

    def __init__(self, capture: HeadTailBuffer) -> None:
        loop = asyncio.get_running_loop()
        self.capture = capture
        self.exited = loop.create_future()
        self.closed = loop.create_future()

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        self.capture.append(data)

    def process_exited(self) -> None:
        self.exited.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed.set_result(None)


async def run_command(command: str, cwd: str, timeout: float, max_output_bytes: int) -> Outcome:
    """Run `bash -c command` in `cwd` with stdin from /dev/null, for at most `timeout` seconds.

    Args:
        command: the script for `bash -c`; cwd: its working directory;
        timeout: seconds before the group is terminated; max_output_bytes: output kept (head + tail).

    Raises:
        OSError: when bash cannot be started (missing binary, `cwd` not a directory).
        asyncio.CancelledError: when cancelled, after the group was sent SIGKILL.
    """
    capture = HeadTailBuffer(max_output_bytes)
    transport, collector = await _spawn(command, cwd, capture)
    group = transport.get_pid()
    try:
        try:
            timed_out = not await _settled(collector.exited, timeout)
            if timed_out:
                _signal_group(group, signal.SIGTERM)
                await _settled(collector.exited, TERM_GRACE)
        finally:
            _signal_group(group, signal.SIGKILL)
        await _settled(collector.closed, DRAIN_GRACE)
    finally:
        _close_after_exit(transport, collector)
    return Outcome(transport.get_returncode(), timed_out, capture.text())


async def _spawn(command: str, cwd: str, capture: HeadTailBuffer) -> tuple[asyncio.SubprocessTransport, _Collector]:
    """Start bash in a new session. Cancelled while starting, the group is killed once it exists:
    asyncio's own clean-up kills only bash, then waits for the pipe, which a background job holds."""
    spawning = asyncio.ensure_future(asyncio.get_running_loop().subprocess_exec(
        lambda: _Collector(capture),
        "bash", "-c", command,
        cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True,
    ))
    try:
        return await asyncio.shield(spawning)
    except asyncio.CancelledError:
        spawning.add_done_callback(_abandon)
        raise


def _abandon(spawning: asyncio.Future) -> None:
    """Kill the group of a start that nobody awaits any more, and close its transport."""
    if not spawning.cancelled() and spawning.exception() is None:
        transport, collector = spawning.result()
        _signal_group(transport.get_pid(), signal.SIGKILL)
        _close_after_exit(transport, collector)


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


def _signal_group(group: int, signum: int) -> None:
    try:
        os.killpg(group, signum)
    except (ProcessLookupError, PermissionError):
        pass  # the group is already empty (its id may even belong to someone else by now)
