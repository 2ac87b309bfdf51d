"""What a run records beside its issues, read back from the database: the foreman's own model calls
under the run (issue 7, defect 15) and each worker's reported state in the ``workers`` table, the
same whether workers run in the foreman's process or in their own (defect 18).

Real fleet, real mount plans, sessions, database and git worktrees; the LLMs are the scripted FAKES
of ``foreman.rehearsal``.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections import Counter

import click
import pytest
from click.testing import CliRunner
from rich.console import Console

from foreman.cli import cli
from foreman.cli.fleet import process_settings, processes_option
from foreman.fleet import Fleet, FleetConfig
from foreman.issues import EventKind, NewIssue
from foreman.issues.fleet_records import RUN_EVENTS
from foreman.rehearsal import rehearsal_provider
from foreman.runtime.budgets import model_usage
from foreman.runtime.recorder import EventSink, WorkerStats
from foreman.summary import print_summary
from tests.support.seed import SEED_TASKS
from workers.status import StatusReporter

WORKERS = {"coding-1", "coding-2", "research-1"}
HANG_GUARD = 10.0  # seconds before a condition that never comes true fails the test


def _parsed_processes(args: list[str]) -> int | None:
    """What ``--processes [N]`` parses ``args`` to, through the option the commands use."""

    @click.command()
    @processes_option
    def command(processes):
        return processes

    return command.main(args, standalone_mode=False)


def _run(workspace, **options):
    fleet = Fleet(FleetConfig(workspace=workspace, tasks=SEED_TASKS, review_interval=0.1,
                              provider_factory=rehearsal_provider, **options))
    return fleet, asyncio.run(fleet.run())


def _model_calls_by_actor(store) -> Counter:
    events = store.events(kinds=[EventKind.SESSION])
    return Counter(e.actor for e in events if e.data.get("event") == "provider:response")


def _summary_text(report, fleet) -> str:
    console = Console(record=True, width=200)
    print_summary(report, fleet.store, fleet.workspace.root, console)
    return console.export_text()


def test_the_foremans_model_calls_are_logged_under_the_run_and_counted_in_the_summary(git_workspace):
    fleet, report = _run(git_workspace)

    foreman_calls = [e for e in fleet.store.events(RUN_EVENTS, kinds=[EventKind.SESSION])
                     if e.data["event"] == "provider:response"]
    assert foreman_calls, "the foreman reviewed the blocked issue with its model"
    assert {e.actor for e in foreman_calls} == {"foreman"} and len(foreman_calls) == report.foreman.model_calls
    in_process = report.foreman.model_calls + sum(w.model_calls for w in report.workers.values())
    assert model_usage(fleet.store).calls == in_process
    assert f"model calls: {in_process} " in _summary_text(report, fleet)

    shown = CliRunner().invoke(cli, ["issues", "events", RUN_EVENTS, "--kind", "session", "--json",
                                     "--db", fleet.store.path])
    assert shown.exit_code == 0, shown.output
    assert len([e for e in json.loads(shown.output) if e["data"]["event"] == "provider:response"]) == len(foreman_calls)


def test_in_process_workers_report_to_the_workers_table(git_workspace):
    fleet, report = _run(git_workspace)

    rows = {w.name: w for w in fleet.store.worker_list(since=report.started_at)}
    assert WORKERS | {"foreman"} <= set(rows)
    calls = _model_calls_by_actor(fleet.store)
    for name in WORKERS:
        assert rows[name].pid == os.getpid() and rows[name].state == "stopped"
        assert rows[name].model_calls == calls[name] == report.workers[name].model_calls


@pytest.mark.timeout(240)
def test_worker_processes_report_to_the_workers_table_and_the_summary_lists_them(git_workspace):
    fleet, report = _run(git_workspace, processes=True)

    rows = {w.name: w for w in fleet.store.worker_list(since=report.started_at)}
    assert WORKERS <= set(rows)
    pids = {rows[name].pid for name in WORKERS}
    assert len(pids) == len(WORKERS) and os.getpid() not in pids, "one process per worker"
    calls = _model_calls_by_actor(fleet.store)
    for name in WORKERS:
        assert rows[name].state == "stopped" and rows[name].model_calls == calls[name] > 0
    text = _summary_text(report, fleet)
    assert all(f"{rows[name].host}:{rows[name].pid}" in text for name in WORKERS)


@pytest.mark.timeout(240)
def test_process_count_spreads_the_workers_over_that_many_processes(git_workspace):
    fleet, report = _run(git_workspace, processes=True, process_count=2)

    rows = {w.name: w for w in fleet.store.worker_list(since=report.started_at)}
    pids = Counter(rows[name].pid for name in WORKERS)
    assert sorted(pids.values()) == [1, 2] and os.getpid() not in pids, "3 workers round-robin over 2 processes"
    assert all(rows[name].state == "stopped" for name in WORKERS)


@pytest.mark.parametrize(("args", "settings"), [([], {"processes": False, "process_count": None}),
                                                (["--processes"], {"processes": True, "process_count": None}),
                                                (["--processes", "2"], {"processes": True, "process_count": 2})])
def test_the_processes_option_maps_to_the_fleet_settings(args, settings):
    assert process_settings(_parsed_processes(args)) == settings


async def test_a_state_change_is_reported_at_once(store):
    stats = WorkerStats()
    async with StatusReporter(store, "coding-1", "coding", stats, interval=3600.0) as reporter:
        assert [w.state for w in store.worker_list()] == ["starting"]
        stats.state, stats.issue_id = "working", "fm-ab12"
        reporter.changed()
        async with asyncio.timeout(HANG_GUARD):
            while store.worker_list()[0].state != "working":
                await asyncio.sleep(0.01)
        assert store.worker_list()[0].issue_id == "fm-ab12"
        stats.state = "stopped"
    assert [w.state for w in store.worker_list()] == ["stopped"], "the last state is written on the way out"


async def test_a_burst_of_session_events_is_written_in_one_transaction_and_flush_writes_it_all(store):
    issue = store.create(NewIssue(title="busy"))
    writes: list[int] = []
    record = store.record_events

    def counted(batch):
        writes.append(len(batch))
        return record(batch)

    store.record_events = counted
    sink = EventSink(store)

    async def worker(n: int) -> None:
        for step in range(3):
            sink.put(issue.id, f"coding-{n}", {"event": "tool:post", "step": step})
            await asyncio.sleep(0)

    await asyncio.gather(*(worker(n) for n in range(4)))
    await sink.flush()
    assert writes == [12], "the burst of 4 workers x 3 events is one write"
    logged = store.events(issue.id, kinds=[EventKind.SESSION])
    assert Counter(e.actor for e in logged) == {f"coding-{n}": 3 for n in range(4)}
