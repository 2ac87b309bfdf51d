"""The fleet depends only on amplifier-core's contracts (issue 9, item 2), on our modules and on the
upstream-shaped double (foreman.upstream_double): instructions as a system message, model calls
counted once from either canonical event, and the workspace guarded whatever tools are mounted."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from amplifier_core.message_models import ChatRequest

from foreman.issues import open_store
from foreman.issues.identity import WorkerIdentity
from foreman.runtime.plans import PLANS_DIR, load_plan
from foreman.runtime.sessions import open_session
from foreman.testing import ScriptedProvider, call
from foreman.upstream_double import double_plans
from foreman.upstream_double.provider import EventEmittingProvider
from workers import guard as workspace_guard
from workers.guard import WorkspaceGuard, path_arguments
from foreman.runtime.recorder import EventSink, SessionRecorder, WorkerStats
from foreman.runtime.workspace import Workspace, git
from tests.support.sessions import first_request

MODULE_SETS = ["ours", "upstream-double"]


def coding_plan(module_set: str, tmp_path: Path):
    plans = PLANS_DIR if module_set == "ours" else double_plans(PLANS_DIR, tmp_path / "double-plans")
    return load_plan(plans / "coding-worker.json")


def first_message(request: ChatRequest) -> tuple[str, str]:
    message = request.messages[0]
    return message.role, message.content


@pytest.mark.parametrize("module_set", MODULE_SETS)
async def test_the_plans_instructions_reach_the_model_as_the_first_system_message(module_set, tmp_path):
    plan = coding_plan(module_set, tmp_path)
    request = await first_request(plan, tmp_path)
    assert first_message(request) == ("system", plan.fleet.instructions)
    assert [m.role for m in request.messages] == ["system", "user"]


@pytest.mark.parametrize("module_set", MODULE_SETS)
@pytest.mark.parametrize("provider_emits_llm_response", [True, False])
async def test_each_model_call_is_counted_once_whichever_events_are_emitted(module_set, provider_emits_llm_response,
                                                                            tmp_path):
    plan = coding_plan(module_set, tmp_path)
    fake = ScriptedProvider([call("write_file", file_path="a.txt", content="a"), "done"])
    provider = EventEmittingProvider(fake, hooks=None) if provider_emits_llm_response else fake
    store = open_store(str(tmp_path / "issues.db"), create=True)
    identity = WorkerIdentity(name="coding-1", where={})
    session = await open_session(plan, workspace=tmp_path, provider=provider, identity=identity, store=store)
    if provider_emits_llm_response:
        provider.hooks = session.coordinator.hooks
    stats = WorkerStats()
    SessionRecorder(EventSink(store), "coding-1", stats, identity, fallback_issue=None).attach(session.coordinator.hooks)
    try:
        await session.execute("write a.txt")
    finally:
        await session.cleanup()
    if module_set == "upstream-double" and not provider_emits_llm_response:
        assert stats.model_calls == 0  # neither event: upstream's loop emits no provider:response
    else:
        assert stats.model_calls == len(fake.requests) == 2
    assert (tmp_path / "a.txt").read_text() == "a"


def test_path_arguments_are_read_by_key_name():
    arguments = {"file_path": "a", "paths": ["b", 3], "source_path": "c", "content": "../../x", "path": ""}
    assert path_arguments(arguments) == ["a", "b", "c"]
    assert path_arguments("not a dict") == []


def test_a_worktree_session_may_name_only_its_worktree(git_workspace):
    root = git_workspace.resolve()
    worktree = root / ".foreman" / "worktrees" / "fm-1"
    guard = WorkspaceGuard(root, worktree, git=True)
    assert guard.forbidden({"file_path": "src/app.py"}) is None
    assert guard.forbidden({"file_path": "/tmp/elsewhere.txt"}) is None  # outside the workspace: the tool's business
    for named in ("../../issues.db", "../../../.git/HEAD", str(root / "README.md"), ".git"):
        assert guard.forbidden({"file_path": named}) == named


def test_a_session_in_a_plain_workspace_may_not_name_dot_foreman(tmp_path):
    guard = WorkspaceGuard(tmp_path, tmp_path, git=False)
    assert guard.forbidden({"path": "notes/a.md"}) is None
    assert guard.forbidden({"file_path": ".foreman/issues.db"}) == ".foreman/issues.db"


async def _run_guarded(plan, root: Path, worktree: Path, fake: ScriptedProvider) -> tuple[WorkspaceGuard, str]:
    """Run one prompt in a session of ``plan`` in ``worktree`` of ``root``, watched by a WorkspaceGuard."""
    session = await open_session(plan, workspace=worktree, provider=fake)
    guard = WorkspaceGuard(root, worktree, git=True)
    await guard.attach(session)
    try:
        return guard, await session.execute("go")
    finally:
        await session.cleanup()


@pytest.mark.parametrize("module_set", MODULE_SETS)
async def test_the_guard_denies_writes_outside_the_worktree_and_stops_a_session_that_changes_the_checkout(
        module_set, git_workspace, tmp_path):
    root = git_workspace.resolve()
    worktree = await Workspace(root).checkout("fm-1")
    readme = (root / "README.md").read_text()
    fake = ScriptedProvider([
        call("write_file", file_path="../../../README.md", content="owned"),
        call("bash", command="echo owned > ../../../README.md"),
        "should not be asked",
    ])
    session = await open_session(coding_plan(module_set, tmp_path), workspace=worktree, provider=fake)
    guard = WorkspaceGuard(root, worktree, git=True)
    await guard.attach(session)
    try:
        await session.execute("go")
    finally:
        await session.cleanup()
    denied = [m.content for m in fake.requests[1].messages if m.role == "tool"]
    assert "outside your workspace" in denied[0]
    # a shell command no argument check can see (here unconfined: no read-only capability registered)
    assert "changed the user's checkout" in guard.violation and "'bash'" in guard.violation
    assert len(fake.requests) == 2  # the session was stopped after that call
    assert (root / "README.md").read_text() == "owned\n"
    git(root, "checkout", "--", "README.md")
    assert (root / "README.md").read_text() == readme


@pytest.mark.parametrize("module_set", MODULE_SETS)
async def test_the_users_own_edits_in_the_checkout_do_not_fail_a_session(module_set, git_workspace, tmp_path):
    root = git_workspace.resolve()
    worktree = await Workspace(root).checkout("fm-2")
    (root / "README.md").write_text("the user is editing this\n")
    (root / "draft.txt").write_text("new, untracked\n")
    for edited in (root / "README.md", root / "draft.txt", root):  # edited a while before the session
        os.utime(edited, (time.time() - 5, time.time() - 5))
    fake = ScriptedProvider([call("write_file", file_path="notes.md", content="mine"), "done"])
    guard, answer = await _run_guarded(coding_plan(module_set, tmp_path), root, worktree, fake)
    assert guard.violation is None and answer == "done"
    assert (worktree / "notes.md").read_text() == "mine"


@pytest.mark.parametrize(("module_set", "readings"), [("ours", 2), ("upstream-double", 4)])
async def test_the_checkout_is_read_only_around_tools_that_do_not_declare_they_keep_to_their_paths(
        module_set, readings, git_workspace, tmp_path, monkeypatch):
    """Our write_file declares ``workspace_confined`` (its path was checked at tool:pre): no reading;
    the double's write_file does not, and no bash is confined: a reading before and after each."""
    root = git_workspace.resolve()
    worktree = await Workspace(root).checkout("fm-3")
    taken = []
    monkeypatch.setattr(workspace_guard, "checkout_state", lambda at: taken.append(at) or {})
    fake = ScriptedProvider([call("write_file", file_path="notes.md", content="mine"), call("bash", command="true"),
                             "done"])
    guard, answer = await _run_guarded(coding_plan(module_set, tmp_path), root, worktree, fake)
    assert answer == "done" and guard.violation is None
    assert len(taken) == readings and set(taken) == {root}
