"""tool-bash: the Tool contract, the process-group lifecycle (timeout, cancellation, leftovers),
output capping and the deny list."""

import asyncio
from pathlib import Path

import pytest
from amplifier_core.testing import MockCoordinator, wait_for
from amplifier_core.validation.behavioral import ToolBehaviorTests
from hypothesis import given
from hypothesis import strategies as st

from amplifier_module_tool_bash import mount
from amplifier_module_tool_bash.capture import HeadTailBuffer
from amplifier_module_tool_bash.denylist import DEFAULT_DENIED_COMMANDS, denied_pattern


async def mounted(config: dict, capability: str | None = None):
    coordinator = MockCoordinator()
    if capability is not None:
        coordinator.register_capability("session.working_dir", capability)
    await mount(coordinator, config)
    return coordinator.mount_points["tools"]["bash"]


@pytest.fixture
async def bash(tmp_path: Path):
    return await mounted({"working_dir": str(tmp_path)})


def live_members(group: int) -> list[int]:
    """Pids in process group `group` that have not exited. Zombies do not count: nothing reaps
    orphans in this container, and `os.killpg(group, 0)` still succeeds on them."""
    members = []
    for entry in Path("/proc").iterdir():
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == group and fields[0] != "Z":
            members.append(int(entry.name))
    return members


class TestBashToolContract(ToolBehaviorTests):
    """amplifier-core's behavioural contract."""

    @pytest.fixture
    def tool_module(self, bash):
        return bash


# --- running -----------------------------------------------------------------------------------


async def test_output_merges_stdout_and_stderr_and_ends_with_the_exit_code(bash):
    result = await bash.execute({"command": "echo out; echo err >&2"})
    assert result.success
    assert result.output == "out\nerr\n[exit code 0]"


async def test_nonzero_exit_is_a_failure_that_keeps_the_output(bash):
    result = await bash.execute({"command": "echo partial; exit 3"})
    assert not result.success
    assert result.error == {"code": "exit_status", "message": "The command failed (exit code 3)."}
    assert result.output == "partial\n[exit code 3]"


async def test_runs_in_the_configured_workspace_not_the_capability(tmp_path):
    (tmp_path / "ws").mkdir()
    bash = await mounted({"working_dir": str(tmp_path / "ws")}, capability="/")
    assert (await bash.execute({"command": "pwd"})).output == f"{tmp_path / 'ws'}\n[exit code 0]"


async def test_capability_is_the_workspace_without_config(tmp_path):
    bash = await mounted({}, capability=str(tmp_path))
    assert (await bash.execute({"command": "pwd"})).output == f"{tmp_path}\n[exit code 0]"


async def test_a_null_timeout_means_the_default(bash):
    assert (await bash.execute({"command": "true", "timeout": None})).success


async def test_stdin_is_empty_so_reads_do_not_hang(bash):
    assert (await bash.execute({"command": "cat; echo done"})).output == "done\n[exit code 0]"


async def test_a_missing_workspace_is_a_spawn_failure(tmp_path):
    bash = await mounted({"working_dir": str(tmp_path / "missing")})
    assert (await bash.execute({"command": "true"})).error["code"] == "spawn_failed"


@pytest.mark.parametrize("key", ["timeout", "max_timeout", "max_output_bytes"])
async def test_non_positive_limits_fail_the_mount(key):
    with pytest.raises(ValueError, match=f"tool-bash: config {key} must be > 0"):
        await mounted({key: 0})


@pytest.mark.parametrize("input", [{}, {"command": "  "}, {"command": 5}, {"command": "true", "timeout": 0}, {"command": "true", "timeout": "9"}])
async def test_bad_input_is_refused(bash, input):
    assert (await bash.execute(input)).error["code"] == "invalid_input"


# --- the process group -------------------------------------------------------------------------


async def test_timeout_kills_the_whole_group(bash):
    result = await bash.execute({"command": "echo $$; sleep 300 & sleep 300", "timeout": 1})
    assert result.error["code"] == "timeout"
    assert "timed out after 1 s; its process group was killed" in result.output
    group = int(result.output.splitlines()[0])
    assert await wait_for(lambda: not live_members(group), timeout=5)


async def test_timeout_escalates_to_sigkill_when_sigterm_is_ignored(bash):
    result = await bash.execute({"command": "trap '' TERM; echo $$; sleep 300 & sleep 300", "timeout": 0.5})
    assert result.error["code"] == "timeout"
    group = int(result.output.splitlines()[0])
    assert await wait_for(lambda: not live_members(group), timeout=5)


async def test_timeout_is_lowered_to_max_timeout(tmp_path):
    bash = await mounted({"working_dir": str(tmp_path), "max_timeout": 0.5})
    result = await bash.execute({"command": "sleep 300", "timeout": 1000})
    assert "timed out after 0.5 s" in result.error["message"]


async def test_background_processes_do_not_outlive_the_call(bash):
    result = await bash.execute({"command": "echo $$; sleep 300 & echo started"})
    assert result.success and result.output.endswith("started\n[exit code 0]")
    group = int(result.output.splitlines()[0])
    assert await wait_for(lambda: not live_members(group), timeout=5)


async def test_cancelling_execute_kills_the_group(bash, tmp_path):
    marker = tmp_path / "group"
    task = asyncio.create_task(bash.execute({"command": "echo $$ > group.tmp && mv group.tmp group; sleep 300 & sleep 300"}))
    assert await wait_for(marker.exists, timeout=10)
    group = int(marker.read_text())
    assert live_members(group)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await wait_for(lambda: not live_members(group), timeout=5)


async def test_cancelling_just_as_bash_starts_leaves_no_group(bash, tmp_path):
    """Races a cancellation against asyncio's start-up of the subprocess, 20 times: cancelled inside
    `subprocess_exec`, asyncio would kill bash alone and then wait for the pipe the jobs hold."""
    for attempt in range(20):
        marker = tmp_path / f"group{attempt}"
        command = f"sleep 300 & sleep 300 & echo $$ > {marker.name}.tmp && mv {marker.name}.tmp {marker.name}; wait"
        task = asyncio.create_task(bash.execute({"command": command}))
        while not marker.exists():
            await asyncio.sleep(0)
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=5)
        assert done and task.cancelled()
        group = int(marker.read_text())
        assert await wait_for(lambda: not live_members(group), timeout=5)


# --- output capping ----------------------------------------------------------------------------


async def test_output_keeps_head_and_tail_and_says_what_was_cut(tmp_path):
    bash = await mounted({"working_dir": str(tmp_path), "max_output_bytes": 1000})
    output = (await bash.execute({"command": "seq 1 100000"})).output
    assert output.startswith("1\n2\n3\n")
    assert output.endswith("99999\n100000\n[exit code 0]")
    assert "bytes of output omitted ...]" in output
    assert len(output.encode()) < 1100


@given(chunks=st.lists(st.binary(max_size=40), max_size=12), limit=st.integers(min_value=0, max_value=64))
def test_head_tail_buffer_keeps_the_ends_of_any_stream(chunks, limit):
    buffer = HeadTailBuffer(limit)
    for chunk in chunks:
        buffer.append(chunk)
    stream = b"".join(chunks)
    head, tail = stream[: limit // 2], stream[len(stream) - (limit - limit // 2) :]
    if len(stream) <= limit:
        assert buffer.text() == stream.decode(errors="replace")
    else:
        omitted = len(stream) - len(head) - len(tail)
        assert buffer.text() == f"{head.decode(errors='replace')}\n[... {omitted} bytes of output omitted ...]\n{tail.decode(errors='replace')}"
    assert buffer.total == len(stream)


# --- the deny list -----------------------------------------------------------------------------


async def test_denied_commands_do_not_run(bash, tmp_path):
    result = await bash.execute({"command": "touch ran && sudo true"})
    assert result.error["code"] == "command_denied"
    assert "'sudo'" in result.error["message"]
    assert not (tmp_path / "ran").exists()


async def test_denied_commands_come_from_config(tmp_path):
    bash = await mounted({"working_dir": str(tmp_path), "denied_commands": ["curl"]})
    assert (await bash.execute({"command": "curl http://x"})).error["code"] == "command_denied"
    assert (await bash.execute({"command": "echo sudo"})).success


@pytest.mark.parametrize(
    "command",
    ["sudo ls", "make && sudo make install", "rm -rf /", "rm -rf / --no-preserve-root", 'rm -rf "/"', "x;rm -rf /*",
     "git push --force origin main", "(git push -f)"],
)
def test_default_deny_list_matches(command):
    assert denied_pattern(command, DEFAULT_DENIED_COMMANDS) is not None


@pytest.mark.parametrize("command", ["echo pseudo", "rm -rf /tmp/build", "rm -rf ./out", "git push origin main", "git push --force-with-lease"])
def test_default_deny_list_leaves_ordinary_commands(command):
    assert denied_pattern(command, DEFAULT_DENIED_COMMANDS) is None
