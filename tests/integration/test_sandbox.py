"""foreman.sandbox.run_command with real processes: nothing a command starts outlives the call,
however it leaves its process group (issue 7, defect 9); the number of processes is bounded; the
environment has no secrets (defect 6)."""

import asyncio
import os
import re
from pathlib import Path

import pytest
from amplifier_core.testing import wait_for

from foreman.sandbox import run_command
from foreman.sandbox.cgroup import NAME_PREFIX, candidate_parents
from tests.support.processes import assert_cancelling_kills, cgroup_available, live_with, marker

SECRET = "sk-test-0123456789abcdef"


async def run(command: str, cwd: Path, **options):
    return await run_command(command, cwd, **{"timeout": 30, "max_output_bytes": 100_000, **options})


def until_running(argument: str) -> str:
    """Shell that waits until a `sleep <argument>` runs (so the test proves it started), then says so."""
    return f"until pgrep -f '^sleep {argument}$' >/dev/null; do sleep 0.01; done; echo running"


@pytest.mark.parametrize(
    "escape",
    [
        "setsid sleep {m} &",
        "set -m; sleep {m} &",
        "timeout 40 sleep {m} &",
        "( (sleep {m} &) & );",
        "nohup sleep {m} >/dev/null 2>&1 &",
        "setsid bash -c 'trap \"\" TERM HUP; sleep {m}' &",
    ],
)
async def test_children_that_leave_the_process_group_do_not_outlive_the_call(tmp_path, escape):
    m = marker()
    outcome = await run(f"{escape.format(m=m)} {until_running(m)}", tmp_path, timeout=20)
    assert (outcome.exit_code, outcome.output) == (0, "running\n")
    assert await wait_for(lambda: not live_with(m), timeout=5)


async def test_a_timeout_kills_the_tree_even_when_sigterm_is_ignored(tmp_path):
    m = marker()
    command = f"trap '' TERM; setsid bash -c \"trap '' TERM; sleep {m}\" & sleep {m}"
    outcome = await run(command, tmp_path, timeout=0.5)
    assert outcome.timed_out
    assert await wait_for(lambda: not live_with(m), timeout=5)


async def test_cancelling_mid_run_kills_the_tree(tmp_path):
    m = marker()
    command = f"setsid sleep {m} & (set -m; sleep {m} &); {until_running(m)} > up; wait"
    task = asyncio.create_task(run(command, tmp_path))
    await assert_cancelling_kills(task, m, tmp_path / "up", running=2)


async def test_cancelling_just_as_bash_starts_leaves_nothing(tmp_path):
    """Races a cancellation against asyncio's start-up of the subprocess, 20 times: cancelled inside
    `subprocess_exec`, asyncio would kill the first process alone and then wait for the pipe."""
    for attempt in range(20):
        m = marker()
        flag = tmp_path / f"started{attempt}"
        task = asyncio.create_task(run(f"setsid sleep {m} & sleep {m} & touch {flag.name}; wait", tmp_path))
        while not flag.exists():
            await asyncio.sleep(0)
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=5)
        assert done and task.cancelled()
        assert await wait_for(lambda: not live_with(m), timeout=5)


requires_cgroup = pytest.mark.skipif(
    not cgroup_available(), reason="no writable pids cgroup here: the process bound is not available"
)


@requires_cgroup
async def test_a_bounded_fork_bomb_stays_within_the_bound_and_leaves_nothing(tmp_path):
    """300 background sleeps against a bound of 40: `sh` (which fails at once instead of retrying
    like bash) prints how many it started before fork failed."""
    m = marker()
    bomb = f"sh -c 'i=0; while [ $i -lt 300 ]; do sleep {m} & i=$((i+1)); echo $i; done'"
    outcome = await run(bomb, tmp_path, max_processes=40)
    started = int(re.findall(r"^\d+$", outcome.output, re.MULTILINE)[-1])
    assert "Cannot fork" in outcome.output
    assert started < 40  # the shell itself is one of the 40
    assert await wait_for(lambda: not live_with(m), timeout=5)


@requires_cgroup
async def test_no_cgroup_is_left_behind(tmp_path):
    await run("sleep 0.01 & echo", tmp_path)
    mine = f"{NAME_PREFIX}-{os.getpid()}-"
    left = [path for parent in candidate_parents() for path in parent.glob(f"{mine}*")]
    assert left == []


async def test_the_default_environment_has_no_secrets(tmp_path, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET)
    monkeypatch.setenv("deploy_password", SECRET + "x")
    monkeypatch.setenv("PLAIN_SETTING", "visible")
    output = (await run("env", tmp_path)).output
    assert SECRET not in output
    assert "PLAIN_SETTING=visible" in output


async def test_an_explicit_environment_is_used_as_given(tmp_path):
    outcome = await run('echo "$GIVEN:${HOME:-unset}"', tmp_path, env={"PATH": "/usr/bin:/bin", "GIVEN": "yes"})
    assert outcome.output == "yes:unset\n"


async def test_output_is_capped_and_says_so(tmp_path):
    capped = await run("seq 1 100000", tmp_path, max_output_bytes=1000)
    assert capped.truncated and capped.output.startswith("1\n2\n") and capped.output.endswith("100000\n")
    assert not (await run("echo short", tmp_path)).truncated


async def test_a_missing_directory_raises_oserror_and_leaves_no_cgroup(tmp_path):
    with pytest.raises(OSError):
        await run("true", tmp_path / "missing")
