"""A run ends when its last issue settles, not at the foreman's next review, and spawned worker
processes stop when the foreman's process says the run is over, not at their next read of the
database (issue 13: the end of a run showed as 0.1-0.8 s of lost efficiency in bench/bench_fleet.py).

Real fleet, real mount plans, sessions and database; the LLMs are the scripted FAKES of
``foreman.rehearsal``. Each run is given a review interval longer than the test's time limit, so
a run that waited for its next review would fail the test.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp

import pytest

from foreman.fleet import Fleet, FleetConfig
from foreman.issues import open_store
from foreman.rehearsal import rehearsal_provider
from foreman.runtime.plans import load_plan
from foreman.runtime.tasks import TaskSpec
from workers.runtime import WorkerOptions
from workers.standalone import ProcessGate, run_standalone_workers

NEVER = 3600.0  # seconds: a review interval no test waits out
HANG_GUARD = 30.0  # seconds before a wait that never ends fails the test
TASKS = [TaskSpec(title=f"write note {n}", worker_type="coding") for n in range(3)]


def _run(workspace, **options):
    fleet = Fleet(FleetConfig(workspace=workspace, tasks=TASKS, workers={"coding": 2, "research": 0},
                              review_interval=NEVER, validation=False, provider_factory=rehearsal_provider,
                              **options))

    async def run():
        return await asyncio.wait_for(fleet.run(), timeout=HANG_GUARD)

    return asyncio.run(run())


@pytest.mark.timeout(120)
@pytest.mark.parametrize("options", [{}, {"processes": True, "process_count": 2}], ids=["in-process", "two-processes"])
def test_a_run_ends_when_its_workers_run_out_of_work(tmp_path, options):
    report = _run(tmp_path, **options)

    assert report.state.over and all(issue.status == "closed" for issue in report.issues)


@pytest.mark.timeout(120)
async def test_a_worker_process_says_when_it_runs_out_of_work_and_stops_when_told_the_run_is_over(tmp_path):
    open_store(tmp_path / "issues.db", create=True).disconnect()  # an empty queue; its run_over flag is never set
    gate = ProcessGate(mp.get_context("spawn"))
    gate.go.set()  # the parent's open(), for this one process
    slots = [(load_plan("coding-worker"), "coding-1")]
    options = WorkerOptions(provider_factory=rehearsal_provider, poll_interval=NEVER)
    running = asyncio.create_task(run_standalone_workers(slots, tmp_path, str(tmp_path / "issues.db"), options,
                                                         asyncio.Event(), gate=gate))

    await asyncio.wait_for(asyncio.to_thread(gate.idle.wait), timeout=HANG_GUARD)
    assert not running.done()
    gate.end()
    [stats] = await asyncio.wait_for(running, timeout=HANG_GUARD)

    assert stats.state == "stopped"
