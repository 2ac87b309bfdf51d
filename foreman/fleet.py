"""A run of the fleet: the foreman plans, workers work, the foreman watches until the run is over.

By default everything runs in one process as asyncio tasks (sharing one embedded model); with
``processes=True`` each worker runs in its own ``spawn`` process on the same database. ``resume``
continues a run from the database: planning is skipped, closed issues stay closed, claims of a
killed run come back when their leases expire.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from foreman.issues import Issue, IssueStore, open_store, resolve_db
from foreman.issues.identity import WorkerIdentity
from foreman.monitor import Monitor, RunState, run_state
from foreman.plans import PLANS_DIR, MountPlan, PlanError, load_plans
from foreman.sessions import FleetSession, open_session
from foreman.tasks import TaskSpec
from foreman.planner import plan_issues
from workers.recorder import EventSink, SessionRecorder, WorkerStats
from workers.runtime import ProviderFactory, Worker, WorkerOptions
from workers.standalone import RUN_OVER, worker_process_main
from workers.workspace import Workspace

REVIEW_INTERVAL = 1.0  # seconds between foreman reviews of the queue
PLANNED = "planned"  # fleet_state key: the foreman's planning is done
PLANNING_TOOLS = ["create", "list"]  # tool-issue operations of the foreman's planning session


@dataclass
class FleetConfig:
    """What to run.

    Attributes:
        workspace: the directory workers work in (a git repository gets worktrees).
        db: database location; default ``<workspace>/.foreman/issues.db``.
        plans_dir: folder of mount plans: one foreman plan and any number of worker plans.
        workers: per worker type, how many to run (overrides each plan's ``fleet.count``).
        provider: keep only this provider module in every plan (e.g. ``provider-llamacpp``).
        tasks / goal: what the foreman plans (a task list wins over a goal).
        resume: continue the run stored in the database.
        provider_factory: replaces every plan's providers (scripted rehearsal, tests).
        processes: run each worker in its own spawned process.
        review_interval: seconds between foreman reviews.
    """

    workspace: Path
    db: str | None = None
    plans_dir: Path = PLANS_DIR
    workers: dict[str, int] = field(default_factory=dict)
    provider: str | None = None
    tasks: list[TaskSpec] | None = None
    goal: str | None = None
    resume: bool = False
    provider_factory: ProviderFactory | None = None
    processes: bool = False
    review_interval: float = REVIEW_INTERVAL


@dataclass
class FleetReport:
    """What a run did."""

    issues: list[Issue]
    state: RunState
    workers: dict[str, WorkerStats]
    foreman: WorkerStats
    provider: str
    seconds: float
    interrupted: bool


class Fleet:
    """One run. ``stopping`` is set by the first Ctrl-C (graceful stop)."""

    def __init__(self, config: FleetConfig) -> None:
        self.config = config
        self.workspace = Workspace(config.workspace)
        self.store: IssueStore = open_store(resolve_db(config.db, self.workspace.root), create=True)
        self.foreman_plan, self.worker_plans = _select_plans(config)
        self.stopping, self.run_over = asyncio.Event(), asyncio.Event()
        self.workers: list[Worker] = []
        self.foreman_stats = WorkerStats()
        self.sink = EventSink(self.store)
        self.state: RunState | None = None

    def worker_count(self, plan: MountPlan) -> int:
        """How many workers of this plan run (command line over the plan's ``fleet.count``)."""
        return self.config.workers.get(plan.fleet.worker_type, plan.fleet.count)

    async def run(self, on_started: Callable[[Fleet], None] | None = None) -> FleetReport:
        """Plan (unless resuming), run workers and foreman reviews until the run is over or stopped."""
        started = time.monotonic()
        if not (self.config.resume and self.store.get_state(PLANNED)):
            await self._plan()
        foreman = await self._foreman_session(self.foreman_plan)
        try:
            self.store.set_state(RUN_OVER, False)
            self.workers = [] if self.config.processes else self._make_workers()
            if on_started:
                on_started(self)
            running = self._start_processes() if self.config.processes else [asyncio.create_task(w.run()) for w in self.workers]
            await self._watch(Monitor(foreman, self.store, self.workspace.root))
            self.store.set_state(RUN_OVER, self.state.over)
            self.run_over.set()
            await asyncio.gather(*running)
        finally:
            await foreman.cleanup()
            await self.sink.flush()
        return FleetReport(issues=self.store.list(), state=self.state, workers={w.name: w.stats for w in self.workers},
                           foreman=self.foreman_stats, provider=foreman.provider,
                           seconds=time.monotonic() - started, interrupted=self.stopping.is_set())

    async def _plan(self) -> None:
        """The planning turn, in its own session that sees only ``issue_create`` and ``issue_list``."""
        self.foreman_stats.state, self.foreman_stats.last_action = "planning", "planning"
        planner = await self._foreman_session(self.foreman_plan.with_tool_config("tool-issue", operations=PLANNING_TOOLS))
        try:
            await plan_issues(planner, self.store, tasks=self.config.tasks, goal=self.config.goal,
                              worker_types=[p.fleet.worker_type for p in self.worker_plans])
        finally:
            await planner.cleanup()
        self.store.set_state(PLANNED, True)

    async def _foreman_session(self, plan: MountPlan) -> FleetSession:
        factory = self.config.provider_factory
        provider = factory(plan, "foreman") if factory else None
        session = await open_session(plan, workspace=self.workspace.root, store=self.store,
                                     identity=WorkerIdentity(name="foreman", role="foreman"), provider=provider)
        SessionRecorder(self.sink, "foreman", self.foreman_stats, WorkerIdentity(name="foreman")).attach(session.coordinator.hooks)
        return session

    def _make_workers(self) -> list[Worker]:
        options = WorkerOptions(provider_factory=self.config.provider_factory)
        return [
            Worker(f"{plan.fleet.worker_type}-{n}", plan, self.store, self.workspace,
                   run_over=self.run_over, stopping=self.stopping, sink=self.sink, options=options)
            for plan in self.worker_plans for n in range(1, self.worker_count(plan) + 1)
        ]

    def _start_processes(self) -> list[asyncio.Future]:
        """One spawned process per worker; each is joined in a thread, and interrupted on Ctrl-C."""
        ctx = mp.get_context("spawn")
        providers = [self.config.provider] if self.config.provider else None
        procs = [
            ctx.Process(target=worker_process_main, name=f"{plan.fleet.worker_type}-{n}",
                        args=(str(plan.path), providers, f"{plan.fleet.worker_type}-{n}", str(self.workspace.root),
                              self.store.path, self.config.provider_factory))
            for plan in self.worker_plans for n in range(1, self.worker_count(plan) + 1)
        ]
        for proc in procs:
            proc.start()

        async def forward_stop() -> None:
            await self.stopping.wait()
            for proc in procs:
                if proc.pid and proc.is_alive():
                    os.kill(proc.pid, signal.SIGINT)

        stopper = asyncio.create_task(forward_stop())
        joined = [asyncio.create_task(asyncio.to_thread(proc.join)) for proc in procs]
        done = asyncio.gather(*joined)
        done.add_done_callback(lambda _: stopper.cancel())
        return [done]

    async def _watch(self, monitor: Monitor) -> None:
        """Foreman reviews until every issue is closed or waits for a human, or Ctrl-C."""
        while not self.stopping.is_set():
            self.foreman_stats.state, self.foreman_stats.last_action = "reviewing", "reviewing the queue"
            self.state = await monitor.review()
            self.foreman_stats.state = "watching"
            if self.state.over or not any(self.worker_count(p) for p in self.worker_plans):
                return
            try:
                await asyncio.wait_for(self.stopping.wait(), timeout=self.config.review_interval)
            except TimeoutError:
                pass
        self.state = await asyncio.to_thread(run_state, self.store)


def _select_plans(config: FleetConfig) -> tuple[MountPlan, list[MountPlan]]:
    plans = load_plans(config.plans_dir)
    if config.provider:
        plans = [p.with_providers([config.provider]) for p in plans]
    foremen = [p for p in plans if p.fleet.role == "foreman"]
    if len(foremen) != 1:
        raise PlanError(f"{config.plans_dir}: need exactly one plan with fleet.role \"foreman\", found {len(foremen)}")
    workers = [p for p in plans if p.fleet.role == "worker"]
    unknown = sorted(set(config.workers) - {p.fleet.worker_type for p in workers})
    if unknown:
        raise PlanError(f"--workers names unknown worker types {unknown}; plans define {[p.fleet.worker_type for p in workers]}")
    return foremen[0], workers
