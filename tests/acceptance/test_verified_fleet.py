"""Verified work through the whole fleet (issue 8): real sessions, database and git; scripted fake LLMs.

The rehearsal's fakes (foreman.rehearsal) close too early, write too little on a first try, and
are reviewed by a fake validator that fails work missing what its acceptance criteria ask. Every
test runs twice (issue 9): on our modules, and on the upstream-shaped double
(foreman.upstream_double: Microsoft's argument names, result shapes and events).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from foreman.fleet import Fleet, FleetConfig
from foreman.issues import EventKind, Status
from foreman.merge_queue import MERGE, MERGE_OF
from foreman.runtime.plans import PLANS_DIR
from foreman.rehearsal import rehearsal_provider
from foreman.runtime.tasks import TaskSpec, load_tasks
from foreman.runtime.workspace import git
from foreman.testing import ScriptedProvider, call
from foreman.upstream_double import double_plans
from tests.support.seed import SEED_TASKS

REHEARSAL_TASKS = Path(__file__).parents[2] / "examples" / "rehearsal.json"


@pytest.fixture(params=["ours", "upstream-double"])
def run(request, tmp_path):
    """Runs a fleet config on our modules or on the upstream-shaped double's plans."""
    def run(config: FleetConfig):
        if request.param == "ours":
            config.provider_factory = rehearsal_provider
        else:
            config.plans_dir = double_plans(PLANS_DIR, tmp_path / "double-plans")
        config.review_interval = 0.1
        fleet = Fleet(config)
        return fleet, asyncio.run(fleet.run())

    return run


def test_the_rehearsal_shows_a_refused_close_a_validator_fail_and_a_merge_conflict_turned_into_an_issue(run, git_workspace):
    user_head = git(git_workspace, "rev-parse", "HEAD")
    fleet, report = run(FleetConfig(workspace=git_workspace, tasks=load_tasks(REHEARSAL_TASKS)))
    store = fleet.store
    assert report.state.over and not report.state.waiting_for_human
    by_key = {i.metadata.get("task_key"): i for i in report.issues}

    refused = [e for i in report.issues for e in store.show(i.id).evidence
               if e.kind == EventKind.CHECKED and not e.data["passed"]]
    assert refused, "a premature close was refused by its check"

    upgrade = store.show(by_key["upgrade-notes"].id)
    assert [e.data["verdict"] for e in upgrade.evidence if e.kind == EventKind.VERDICT] == ["FAIL", "PASS"]
    assert [a.outcome for a in upgrade.attempts] == ["rejected", "closed"]
    assert upgrade.attempts[0].worker != "validator-1" and "does not name" in upgrade.attempts[0].error

    merges = [i for i in report.issues if MERGE_OF in i.metadata]
    assert len(merges) == 1 and merges[0].status == Status.CLOSED
    conflicted = store.get(merges[0].metadata[MERGE_OF])
    assert conflicted.metadata[MERGE]["state"] == "merged" and "CHANGELOG.md" in merges[0].description

    assert all(i.status == Status.CLOSED and i.metadata[MERGE]["state"] == "merged" for i in report.issues)
    changelog = git(git_workspace, "show", "foreman/integration:CHANGELOG.md")
    assert "<<<<<<<" not in changelog and "changelog" in changelog and "release summary" in changelog
    assert git(git_workspace, "rev-parse", "HEAD") == user_head  # the user's branch never moved
    assert not git(git_workspace, "status", "--porcelain")


def test_work_that_does_not_pass_the_seeds_checks_is_never_closed(run, git_workspace):
    """The fakes only write notes files: every seed check fails, so nothing closes and nothing merges."""
    tasks = [t for t in SEED_TASKS if not t.blocked_reason]
    fleet, report = run(FleetConfig(workspace=git_workspace, tasks=tasks))
    assert report.state.over
    assert not [i for i in report.issues if i.status == Status.CLOSED]
    assert {i.id for i in report.state.waiting_for_human} == {i.id for i in report.issues}
    for issue in report.issues:
        attempts = fleet.store.attempts(issue.id)
        assert [a.outcome for a in attempts] == ["failed"] * 3
        refusals = [f"last refused close: check `{check}` exited" for check in issue.checks]
        assert all(any(r in a.error for r in refusals) for a in attempts), attempts


def test_without_validation_the_checks_still_gate_the_close_and_no_validator_runs(run, git_workspace):
    fleet, report = run(FleetConfig(workspace=git_workspace, tasks=load_tasks(REHEARSAL_TASKS), validation=False))
    store = fleet.store
    assert report.state.over and "validator-1" not in report.workers
    events = [e for i in report.issues for e in store.events(i.id)]
    assert not [e for e in events if e.kind in (EventKind.SUBMITTED, EventKind.VERDICT)]
    assert [e for e in events if e.kind == EventKind.CHECKED and not e.data["passed"]]
    upgrade = next(i for i in report.issues if i.metadata.get("task_key") == "upgrade-notes")
    assert upgrade.status == Status.CLOSED  # nobody asked it to name its issue: no validator


def test_a_worker_whose_shell_changes_the_users_checkout_fails_its_attempt(tmp_path, git_workspace):
    """On the double (whose bash confines nothing) the runtime's guard still catches it (issue 9)."""
    def provider(plan, worker):
        if plan.fleet.role == "worker":
            return ScriptedProvider([call("bash", command="echo owned >> ../../../README.md")] * 3 + ["done"] * 9)
        return rehearsal_provider(plan, worker)

    tasks = [TaskSpec(title="Touch nothing outside", worker_type="coding", checks=["true"])]
    config = FleetConfig(workspace=git_workspace, tasks=tasks, validation=False, provider_factory=provider,
                         plans_dir=double_plans(PLANS_DIR, tmp_path / "double-plans"), review_interval=0.1)
    fleet = Fleet(config)
    report = asyncio.run(fleet.run())
    [issue] = report.issues
    attempts = fleet.store.attempts(issue.id)
    assert attempts and all(a.outcome == "failed" for a in attempts)
    assert all("changed the user's checkout" in a.error and "'bash'" in a.error for a in attempts)
    assert issue.status != Status.CLOSED
