"""Run budgets and the foreman's idle cost, on whole fleets (issue 12): real plans, sessions,
database and git workspace; scripted FAKE LLMs per role (foreman.rehearsal)."""

from __future__ import annotations

import asyncio
import json

from click.testing import CliRunner

from foreman import monitor
from foreman.cli.fleet import EXIT_BUDGET, run_command
from foreman.fleet import Fleet, FleetConfig
from foreman.issues import Status, open_store
from foreman.issues.fleet_records import RUN_EVENTS
from foreman.rehearsal import DELAY_ENV, rehearsal_provider
from foreman.runtime.budgets import UsageMeter, model_usage
from tests.support.tasks import SEED_WITHOUT_CHECKS

QUIET_TICKS = 60  # foreman watch ticks of a quiet run: 60 s at the default review interval of 1 s


def test_a_run_budget_stops_the_fleet_gracefully_with_exit_3(tmp_path, git_workspace, monkeypatch):
    monkeypatch.setenv(DELAY_ENV, "0.1")  # model calls take a while, as real ones do: the budget is met mid-run
    tasks = tmp_path / "tasks.json"
    tasks.write_text(json.dumps([t.model_dump(mode="json") for t in SEED_WITHOUT_CHECKS]))
    result = CliRunner().invoke(run_command, ["--rehearsal", "--tasks", str(tasks), "--workspace", str(git_workspace),
                                              "--budget-tokens", "4000"])
    assert result.exit_code == EXIT_BUDGET, result.output
    assert "stopped at the run budget" in result.output and "max_tokens 4000 reached" in result.output
    assert "run budget:" in result.output and "of 4000 tokens" in result.output

    store = open_store(git_workspace / ".foreman" / "issues.db")
    issues = store.list()
    assert not all(i.status == Status.CLOSED for i in issues)  # the budget stopped it before the work was done
    assert not [i for i in issues if i.status == Status.IN_PROGRESS]  # every claim was given back
    assert model_usage(store).tokens >= 4000


def test_a_quiet_run_costs_no_foreman_model_call(git_workspace, monkeypatch):
    monkeypatch.setenv(DELAY_ENV, "0.05")  # the worker takes a while; nothing blocks or fails meanwhile
    ticks = []
    review = monitor.Monitor.review

    async def counted(self):
        ticks.append(1)
        return await review(self)

    monkeypatch.setattr(monitor.Monitor, "review", counted)
    config = FleetConfig(workspace=git_workspace, tasks=SEED_WITHOUT_CHECKS[:1], review_interval=0.005,
                         workers={"coding": 1, "research": 0}, provider_factory=rehearsal_provider)
    fleet = Fleet(config)
    report = asyncio.run(fleet.run())

    assert report.state.over and all(i.status == Status.CLOSED for i in report.issues)
    assert len(ticks) >= QUIET_TICKS
    assert UsageMeter(fleet.store, RUN_EVENTS).read().calls == 0
    assert model_usage(fleet.store).calls > 0  # the workers' calls were recorded: the meter can see calls
