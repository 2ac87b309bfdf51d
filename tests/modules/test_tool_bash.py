"""tool-bash: the Tool contract, the process tree's lifecycle (timeout, cancellation, leftovers),
the environment without secrets, output capping and the deny list."""

import asyncio
from pathlib import Path

import pytest
from amplifier_core import AmplifierSession
from amplifier_core.testing import MockCoordinator, wait_for
from amplifier_core.validation.behavioral import ToolBehaviorTests
from hypothesis import given
from hypothesis import strategies as st

from amplifier_foreman_modules.tool_bash import mount
from amplifier_foreman_modules.tool_bash.denylist import DEFAULT_DENIED_COMMANDS, denied_pattern
from foreman.sandbox.capture import HeadTailBuffer
from foreman.testing import ScriptedProvider, call, last_tool_result, mount_scripted, session_plan
from tests.support.processes import assert_cancelling_kills, cgroup_available, live_with, marker

SECRET = "sk-test-0123456789abcdef"


async def mounted(config: dict, capability: str | None = None):
    coordinator = MockCoordinator()
    if capability is not None:
        coordinator.register_capability("session.working_dir", capability)
    await mount(coordinator, config)
    return coordinator.mount_points["tools"]["bash"]


@pytest.fixture
async def bash(tmp_path: Path):
    return await mounted({"working_dir": str(tmp_path)})


class TestBashToolContract(ToolBehaviorTests):
    """amplifier-core's behavioural contract."""

    @pytest.fixture
    def tool_module(self, bash):
        return bash


# --- running -----------------------------------------------------------------------------------


async def test_output_is_upstreams_stdout_stderr_and_returncode(bash):
    result = await bash.execute({"command": "echo out; echo err >&2"})
    assert result.success
    assert result.output == {"stdout": "out\n", "stderr": "err\n", "returncode": 0}


async def test_run_in_background_is_refused_with_the_reason(bash):
    result = await bash.execute({"command": "sleep 1", "run_in_background": True})
    assert not result.success and result.error["code"] == "background_unsupported"
    assert result.output == result.error["message"]


async def test_nonzero_exit_is_a_failure_that_keeps_the_output(bash):
    result = await bash.execute({"command": "echo partial; exit 3"})
    assert not result.success
    assert result.error == {"code": "exit_status", "message": "The command failed (exit code 3)."}
    assert result.output == {"stdout": "partial\n", "stderr": "", "returncode": 3}


async def test_runs_in_the_configured_workspace_not_the_capability(tmp_path):
    (tmp_path / "ws").mkdir()
    bash = await mounted({"working_dir": str(tmp_path / "ws")}, capability="/")
    assert (await bash.execute({"command": "pwd"})).output["stdout"] == f"{tmp_path / 'ws'}\n"


async def test_capability_is_the_workspace_without_config(tmp_path):
    bash = await mounted({}, capability=str(tmp_path))
    assert (await bash.execute({"command": "pwd"})).output["stdout"] == f"{tmp_path}\n"


async def test_a_null_timeout_means_the_default(bash):
    assert (await bash.execute({"command": "true", "timeout": None})).success


async def test_stdin_is_empty_so_reads_do_not_hang(bash):
    assert (await bash.execute({"command": "cat; echo done"})).output["stdout"] == "done\n"


async def test_a_missing_workspace_is_a_spawn_failure(tmp_path):
    bash = await mounted({"working_dir": str(tmp_path / "missing")})
    assert (await bash.execute({"command": "true"})).error["code"] == "spawn_failed"


@pytest.mark.parametrize("key", ["timeout", "max_timeout", "max_output_bytes", "max_processes"])
async def test_non_positive_limits_fail_the_mount(key):
    with pytest.raises(ValueError, match=f"tool-bash: config {key} must be > 0"):
        await mounted({key: 0})


@pytest.mark.parametrize("names", ["GITHUB_TOKEN", [1], {"GITHUB_TOKEN": True}])
async def test_env_allow_must_be_a_list_of_names(names):
    with pytest.raises(ValueError, match="tool-bash: config env_allow must be a list of variable names"):
        await mounted({"env_allow": names})


@pytest.mark.parametrize("input", [{}, {"command": "  "}, {"command": 5}, {"command": "true", "timeout": 0}, {"command": "true", "timeout": "9"}])
async def test_bad_input_is_refused(bash, input):
    assert (await bash.execute(input)).error["code"] == "invalid_input"


# --- the process tree (the runner itself: tests/integration/test_sandbox.py) -------------------


async def test_timeout_kills_every_process_and_says_so(bash):
    m = marker()
    result = await bash.execute({"command": f"setsid sleep {m} & sleep {m}", "timeout": 1})
    assert result.error["code"] == "timeout" and result.output["returncode"] is None
    assert "timed out after 1 s; its processes were killed" in result.error["message"]
    assert await wait_for(lambda: not live_with(m), timeout=5)


async def test_timeout_is_lowered_to_max_timeout(tmp_path):
    bash = await mounted({"working_dir": str(tmp_path), "max_timeout": 0.5})
    result = await bash.execute({"command": "sleep 300", "timeout": 1000})
    assert "timed out after 0.5 s" in result.error["message"]


async def test_background_processes_do_not_outlive_the_call(bash):
    m = marker()
    result = await bash.execute({"command": f"sleep {m} & (set -m; sleep {m} &); echo started"})
    assert result.success and result.output["stdout"].endswith("started\n")
    assert await wait_for(lambda: not live_with(m), timeout=5)


async def test_cancelling_execute_kills_every_process(bash, tmp_path):
    m = marker()
    task = asyncio.create_task(bash.execute({"command": f"setsid sleep {m} & touch up; sleep {m}"}))
    await assert_cancelling_kills(task, m, tmp_path / "up", running=2)


async def test_max_processes_from_config_bounds_a_command(tmp_path):
    if not cgroup_available():
        pytest.skip("no writable pids cgroup here: the process bound is not available")
    bash = await mounted({"working_dir": str(tmp_path), "max_processes": 5})
    m = marker()
    result = await bash.execute({"command": f"sh -c 'for i in 1 2 3 4 5 6 7 8; do sleep {m} & done'"})
    assert "Cannot fork" in result.output["stderr"]
    assert await wait_for(lambda: not live_with(m), timeout=5)


# --- the environment (issue 7, defect 6) ---------------------------------------------------------


async def test_commands_do_not_see_secrets(bash, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET)
    monkeypatch.setenv("GITHUB_TOKEN", SECRET + "-gh")
    monkeypatch.setenv("PLAIN_SETTING", "visible")
    output = (await bash.execute({"command": "env"})).output["stdout"]
    assert SECRET not in output
    assert "PLAIN_SETTING=visible" in output


async def test_env_allow_passes_the_named_secrets(tmp_path, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", SECRET)
    monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET + "-anthropic")
    bash = await mounted({"working_dir": str(tmp_path), "env_allow": ["GITHUB_TOKEN"]})
    output = (await bash.execute({"command": "env"})).output["stdout"]
    assert f"GITHUB_TOKEN={SECRET}\n" in output
    assert "ANTHROPIC_API_KEY" not in output


async def test_a_sessions_bash_tool_shows_the_model_no_key(tmp_path, monkeypatch):
    """A real session on the fake LLM (ScriptedProvider) runs `env` through the mounted tool."""
    monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET)
    session = AmplifierSession(session_plan())
    await session.initialize()
    try:
        provider = ScriptedProvider([call("bash", command="env"), lambda request: last_tool_result(request)])
        await mount_scripted(session, provider, tools=[await mounted({"working_dir": str(tmp_path)})])
        answer = await session.execute("show the environment")
    finally:
        await session.cleanup()
    assert "PATH=" in answer
    assert SECRET not in answer and SECRET not in str(provider.requests)


# --- output capping ----------------------------------------------------------------------------


async def test_output_keeps_head_and_tail_and_says_what_was_cut(tmp_path):
    bash = await mounted({"working_dir": str(tmp_path), "max_output_bytes": 1000})
    result = (await bash.execute({"command": "seq 1 100000"})).output
    output = result["stdout"]
    assert result["truncated"] is True and output.startswith("1\n2\n3\n")
    assert output.endswith("99999\n100000\n")
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
