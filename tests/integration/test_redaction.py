"""No secret reaches the event log (issue 7, defect 6): the recorder redacts the values of the
worker's secret variables from every event of a real session before the store sees it."""

import json
from dataclasses import dataclass
from typing import Any

import pytest
from amplifier_core import AmplifierSession
from amplifier_core.testing import MockCoordinator
from amplifier_foreman_modules.tool_bash import mount

from foreman.issues import NewIssue, open_store
from foreman.issues.identity import WorkerIdentity
from foreman.runtime.recorder import MAX_TEXT, EventSink, SessionRecorder, WorkerStats
from foreman.testing import ScriptedProvider, call, mount_scripted, session_plan

SECRET = "sk-test-0123456789abcdef"


@pytest.fixture
def store(tmp_path):
    return open_store(tmp_path / "issues.db", create=True)


@dataclass
class Recorded:
    session: Any
    sink: EventSink
    issue_id: str


@pytest.fixture
async def recorded(store, monkeypatch):
    """A real session whose events the recorder stores under one issue; ANTHROPIC_API_KEY is set."""
    monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET)
    issue = store.create(NewIssue(title="print the environment"))
    sink = EventSink(store)
    recorder = SessionRecorder(sink, "coding-1", WorkerStats(issue_id=issue.id), WorkerIdentity(name="coding-1"))
    session = AmplifierSession(session_plan())
    await session.initialize()
    recorder.attach(session.coordinator.hooks)
    yield Recorded(session, sink, issue.id)
    await session.cleanup()


async def stored(store, recorded: Recorded) -> str:
    await recorded.sink.flush()
    return json.dumps([event.data for event in store.events(recorded.issue_id)])


async def bash_tool(workspace):
    coordinator = MockCoordinator()
    await mount(coordinator, {"working_dir": str(workspace)})
    return coordinator.mount_points["tools"]["bash"]


async def test_a_session_that_runs_env_and_types_the_key_stores_no_key(recorded, store, tmp_path):
    command = f"echo {SECRET} > typed.txt; echo listing; env"
    provider = ScriptedProvider([call("bash", command=command), f"The key is {SECRET}."])
    await mount_scripted(recorded.session, provider, tools=[await bash_tool(tmp_path)])
    assert await recorded.session.execute("show me the environment") == f"The key is {SECRET}."
    log = await stored(store, recorded)
    [result] = [event["result"] for event in json.loads(log) if event.get("event") == "tool:post"]
    assert '"stdout": "listing' in result  # the env output was recorded
    assert SECRET not in log
    assert "echo [redacted] > typed.txt; echo listing; env" in log


async def test_a_secret_where_the_clip_cuts_is_redacted_before_the_cut(recorded, store):
    result = "x" * (MAX_TEXT - 5) + SECRET
    event = {"tool_name": "bash", "arguments": {}, "result": result}
    await recorded.session.coordinator.hooks.emit("tool:post", event)
    log = await stored(store, recorded)
    assert SECRET[:5] not in log
    assert "x" * (MAX_TEXT - 5) + "[reda..." in log
