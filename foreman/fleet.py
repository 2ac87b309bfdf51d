"""A run of the fleet: the foreman plans, workers work, the foreman watches until the run is over.

By default everything runs in one process as asyncio tasks (sharing one embedded model); with
``processes=True`` the workers run in ``spawn`` processes on the same database (one each, or spread
over ``process_count`` processes), started together once every process is up. ``resume``
continues a run from the database: planning is skipped (or finished, if the run was killed while
planning), closed issues stay closed, claims of a killed run come back when their leases expire.

Before anything is planned or claimed, :meth:`Fleet.prepare` takes the database's run lock (one
run per database), checks the task list against the worker plans, checks the workspace, and opens
one session of every plan; each failure is one clear error.
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

from foreman import routing
from foreman.issues import POSTGRES_SCHEMES, Issue, IssueStore, open_store, reads, resolve_db, writes
from foreman.issues.errors import DatabaseMissing
from foreman.issues.fleet_records import RUN_EVENTS
from foreman.issues.identity import WorkerIdentity
from foreman.merge_queue import INTEGRATION_BRANCH, MergeQueue
from foreman.monitor import Monitor, RunState, run_state
from foreman.planner import check_tasks, create_task_issues, plan_goal
from foreman.run_lock import RunLock
from foreman.runtime import module_cache
from foreman.runtime.budgets import Budget, UsageMeter, exceeded
from foreman.runtime.fleet_state import RUN_OVER
from foreman.runtime.heap import settled_heap
from foreman.runtime.plans import PLANS_DIR, MountPlan, PlanError, load_plans
from foreman.runtime.recorder import EventSink, SessionRecorder, WorkerStats
from foreman.runtime.sessions import FleetSession, open_session
from foreman.runtime.tasks import TaskSpec
from foreman.runtime.workspace import Workspace
from workers.gate import VERIFICATION_STATE
from workers.remote import RemoteWorkspace
from workers.review import BASE_COMMIT
from workers.runtime import ProviderFactory, Worker, WorkerOptions, wait_any
from workers.standalone import ProcessesUp, ProcessGate, worker_process_main
from workers.status import StatusBoard, StatusReporter
from workers.stop_requests import follow_stop_requests

REVIEW_INTERVAL = 1.0  # seconds between foreman reviews of the queue
BUDGET_POLL = 0.2  # seconds between looks at the run's spend when it has a budget
PLANNED = "planned"  # fleet_state key: the foreman's planning is done
RUN = "run"  # fleet_state key: what the run plans ({"goal", "tasks", "started_at"}); set when a run starts
PLANNING_TOOLS = ["create", "list"]  # tool-issue operations of the foreman's planning session


class NothingToResume(RuntimeError):
    """``--resume`` where no run was started (no database, or one no ``foreman run`` planned), or a
    run of the queue as it is where there is no database."""


@dataclass
class FleetConfig:
    """What to run.

    Attributes:
        workspace: the directory workers work in (a git repository gets worktrees).
        db: database location; default ``<workspace>/.foreman/issues.db``.
        plans_dir: folder of mount plans: one foreman plan and any number of worker plans.
        workers: per worker type, how many to run (overrides each plan's ``fleet.count``).
        provider: keep only this provider module in every plan (e.g. ``provider-llamacpp``).
        tasks / goal: what the foreman plans (a task list wins over a goal); with ``resume``,
            default: what the interrupted run planned. Neither (and no ``resume``): the run works
            the issues already in the database (``foreman import``, issue 12).
        resume: continue the run stored in the database (never creates one).
        provider_factory: replaces every plan's providers (scripted rehearsal, tests).
        processes: run the workers in spawned processes.
        process_count: with ``processes``, how many processes the workers are spread over (each
            runs its share as asyncio tasks); default: one per worker.
        review_interval: seconds between foreman reviews.
        validation: a close whose checks pass goes to a validator (``in_review``); False:
            ``--no-validation``, it closes at once. The checks run either way.
        run_checks: False only for the quality benchmark's baseline: no checks at close or after
            merges, so "closed" is the model's word (as before verified work).
        into: the integration branch the merge queue merges closed branches into.
        budget: the run's limits (``--budget-usd``, ``--budget-tokens``) over every session since the
            run started (``--resume`` included); reaching one stops the run gracefully (issue 12).
        remote: the workers' git remote (workers on several machines, issue 11): ``workspace`` is the
            foreman's clone of it (made or reused) and the merge queue integrates on the remote.
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
    process_count: int | None = None
    review_interval: float = REVIEW_INTERVAL
    validation: bool = True
    run_checks: bool = True
    into: str = INTEGRATION_BRANCH
    budget: Budget = field(default_factory=Budget)
    remote: str | None = None


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
    changes: list[str] = field(default_factory=list)  #: what the runtime changed or decided itself, one line each
    fault: str | None = None  #: why the run stopped on a fault (the foreman's watch failed; workers were stopped)
    started_at: float = 0.0  #: when this invocation started (store clock, seconds since the epoch)
    into: str = INTEGRATION_BRANCH  #: the integration branch the merge queue merged into
    validated: bool = True  #: whether a validator reviewed closes (False: --no-validation)
    budget_stop: str | None = None  #: why the run budget stopped the run (None: it did not)
    budget: Budget = field(default_factory=Budget)  #: the run's budget


class Fleet:
    """One run. ``stopping`` is set by the first Ctrl-C or a graceful stop request in the database
    (the dashboard's button, :mod:`workers.stop_requests`); an emergency request exits at once.

    Raises:
        NothingToResume: ``resume`` without a database, or with one that holds no run.
        PlanError: the plans folder has no single foreman plan, or ``workers`` names an unknown type.
        WorkspaceError: ``remote`` is given and the workspace holds something else than a clone of it.
    """

    def __init__(self, config: FleetConfig) -> None:
        self.config = config
        db = resolve_db(config.db, config.workspace.resolve())
        if config.resume and not _database_exists(db):
            raise NothingToResume(f"nothing to resume: no issue database at {db}; start a run with --goal or --tasks")
        queue_only = not (config.tasks or config.goal or config.resume)
        if queue_only and not _database_exists(db):
            raise NothingToResume(f"nothing to run: no issue database at {db}; give --goal or --tasks, "
                                  "or `foreman init` and `foreman import FILE` first")
        self.foreman_plan, self.worker_plans, self.validator_plans = _select_plans(config)
        self.workspace = RemoteWorkspace(config.workspace, config.remote) if config.remote else Workspace(config.workspace)
        self.store: IssueStore = open_store(db, create=not config.resume)
        if config.resume and self.store.get_state(RUN) is None and self.store.get_state(PLANNED) is None:
            raise NothingToResume(f"nothing to resume: the database at {db} holds no run; "
                                  "start one with --goal or --tasks")
        self.stopping, self.run_over = asyncio.Event(), asyncio.Event()
        self.idle = asyncio.Event()  # a worker ran out of work: the watch reviews at once (Worker's ``idle``)
        self.workers: list[Worker] = []
        self.foreman_stats = WorkerStats()
        self.sink = EventSink(self.store)
        self.board = StatusBoard(self.store)  # every status row of this process (foreman and workers)
        self.state: RunState | None = None
        self.started_at = self.store.clock.now()  # seconds since the epoch; worker rows from here on are this run's
        self.fault: str | None = None
        self.changes: list[str] = []
        self.lock: RunLock | None = None
        self._keeper: asyncio.Task | None = None
        self.budget_stop: str | None = None
        self._tasks: list[asyncio.Task] = []  # the run's own background tasks (the run budget's watch)
        self.processes_up: ProcessesUp | None = None  # with processes: when the worker processes were all up

    def worker_count(self, plan: MountPlan) -> int:
        """How many workers of this plan run (command line over the plan's ``fleet.count``)."""
        return self.config.workers.get(plan.fleet.worker_type, plan.fleet.count)

    async def prepare(self) -> None:
        """Everything that can fail before a claim: run lock, task list, workspace, one session of every plan.

        Idempotent; :meth:`run` calls it when the caller did not.

        Raises:
            RunLocked: another run holds this database.
            PlanningError: a task no worker plan takes, or two tasks with one key.
            WorkspaceError: a git repository with no commit, or a ``foreman`` branch that blocks ``foreman/<id>``.
            SessionStartError: a plan whose session cannot start (module, ``${VAR}`` value, provider).
        """
        if self.lock is not None:
            return
        lock = await asyncio.to_thread(RunLock.acquire, self.store)
        try:
            tasks, _ = self._what_to_plan()
            if tasks:
                check_tasks(tasks, self.worker_plans)
            await asyncio.to_thread(self.workspace.check)
            for plan in [self.foreman_plan, *self.worker_plans, *self.validator_plans]:
                await (await self._preflight_session(plan)).cleanup()
        except BaseException:
            await asyncio.to_thread(lock.release)
            raise
        self.lock = lock
        self._keeper = asyncio.create_task(lock.keep(self._lock_lost))

    def _lock_lost(self) -> None:
        self.changes.append("the run lock was taken over by another run (no heartbeat for too long); stopped")
        self.stopping.set()

    async def run(self, on_started: Callable[[Fleet], None] | None = None) -> FleetReport:
        """Prepare, plan (unless resuming a planned run), run workers and foreman reviews until the run is over or stopped."""
        started = time.monotonic()
        module_cache.install()
        await self.prepare()
        stopper = asyncio.create_task(follow_stop_requests(self.store, self.stopping, self.started_at))
        try:
            async with StatusReporter(self.store, "foreman", "foreman", self.foreman_stats, board=self.board):
                return await self._run(started, on_started)
        finally:
            stopper.cancel()
            self._keeper.cancel()
            await asyncio.to_thread(self.lock.release)

    async def _run(self, started: float, on_started: Callable[[Fleet], None] | None) -> FleetReport:
        if not (self.config.resume and self.store.get_state(PLANNED)):
            await self._plan()
        foreman = await self._foreman_session(self.foreman_plan)
        try:
            self.store.set_state(RUN_OVER, False)
            verification = {"validation": self.config.validation, "run_checks": self.config.run_checks}
            self.store.set_state(VERIFICATION_STATE, verification)
            with settled_heap():
                await self._work(foreman, on_started)
            self.foreman_stats.state = "stopped"
        finally:
            for task in self._tasks:
                task.cancel()
            await foreman.cleanup()
            await self.sink.flush()
        return FleetReport(issues=self.store.list(), state=self.state, workers={w.name: w.stats for w in self.workers},
                           foreman=self.foreman_stats, provider=foreman.provider,
                           seconds=time.monotonic() - started,
                           interrupted=self.stopping.is_set() and not self.fault and not self.budget_stop,
                           changes=self.changes, fault=self.fault, started_at=self.started_at,
                           into=self.config.into, validated=self.config.validation, budget_stop=self.budget_stop,
                           budget=self.config.budget)

    async def _work(self, foreman: FleetSession, on_started: Callable[[Fleet], None] | None) -> None:
        """Start the workers, watch until the run is over (or stopped), and wait for every worker."""
        running = await self._start_workers(on_started)
        if not self.config.budget.empty:
            self._tasks.append(asyncio.create_task(self._enforce_run_budget(), name="run-budget"))
        await self._watch_or_stop(Monitor(foreman, self.store, self.workspace.root), await self._merge_queue())
        self.store.set_state(RUN_OVER, self.state.over)
        self.run_over.set()
        await asyncio.gather(*running)

    def _what_to_plan(self) -> tuple[list[TaskSpec] | None, str | None]:
        """(tasks, goal): the command line's, else (resuming) what the interrupted run stored."""
        if self.config.tasks or self.config.goal or not self.config.resume:
            return self.config.tasks, self.config.goal
        stored = self.store.get_state(RUN) or {}
        tasks = [TaskSpec.model_validate(t) for t in stored.get("tasks") or []]
        return tasks or None, stored.get("goal")

    async def _plan(self) -> None:
        """Create the task list's issues directly, or plan the goal in a foreman session."""
        self.foreman_stats.state, self.foreman_stats.last_action = "planning", "planning"
        tasks, goal = self._what_to_plan()
        if not self.config.resume:
            record = {"goal": goal, "tasks": [t.model_dump(mode="json") for t in tasks or []],
                      "started_at": self.store.clock.now()}
            self.store.set_state(RUN, record)
            self.store.set_state(PLANNED, False)
            self.store.set_state(BASE_COMMIT, await asyncio.to_thread(self.workspace.head_commit))
        if tasks:
            self.changes += await asyncio.to_thread(create_task_issues, self.store, tasks)
        elif goal and not await asyncio.to_thread(self._keep_interrupted_plan):
            await self._plan_goal(goal)
        self.store.set_state(PLANNED, True)

    def _keep_interrupted_plan(self) -> bool:
        """Resuming a goal run killed while planning: keep the issues its planning turn had created, if any."""
        started = (self.store.get_state(RUN) or {}).get("started_at")
        if not self.config.resume or started is None:
            return False
        made = [i.id for i in self.store.list() if i.created_at.timestamp() >= started]
        if made:
            self.changes.append(f"planning was interrupted; the {len(made)} issues it created are kept as the plan: "
                                f"{', '.join(made)}")
        return bool(made)

    async def _plan_goal(self, goal: str) -> None:
        """The planning turn, in its own session that sees only ``issue_create`` and ``issue_list``."""
        tools = {"operations": PLANNING_TOOLS, "require_checks": self.config.run_checks}
        planner = await self._foreman_session(self.foreman_plan.with_tool_config("tool-issue", **tools))
        try:
            await plan_goal(planner, self.store, goal, [p.fleet.worker_type for p in self.worker_plans])
        finally:
            await planner.cleanup()

    async def _foreman_session(self, plan: MountPlan) -> FleetSession:
        """A foreman session: recorded, and refused any ``issue_create`` no worker plan would take."""
        session = await self._session(plan, "foreman", WorkerIdentity(name="foreman", role="foreman"))
        recorder = SessionRecorder(self.sink, "foreman", self.foreman_stats, WorkerIdentity(name="foreman"), RUN_EVENTS)
        recorder.attach(session.hooks)
        hook = routing.refuse_untaken_creates(self.worker_plans)
        session.hooks.register("tool:pre", hook, name="foreman-worker-types")
        return session

    async def _preflight_session(self, plan: MountPlan) -> FleetSession:
        """A session of ``plan`` opened only to prove that it starts (nothing is run in it)."""
        role = "foreman" if plan.fleet.role == "foreman" else "worker"
        identity = WorkerIdentity(name="preflight", role=role, where=plan.fleet.takes)
        return await self._session(plan, "preflight", identity)

    async def _session(self, plan: MountPlan, name: str, identity: WorkerIdentity) -> FleetSession:
        factory = self.config.provider_factory
        return await open_session(plan, workspace=self.workspace.root, store=self.store, identity=identity,
                                  provider=factory(plan, name) if factory else None)

    async def _merge_queue(self) -> MergeQueue | None:
        """The run's merge queue (None outside git), integrating from the run's base commit."""
        if not self.workspace.git:
            return None
        base = self.store.get_state(BASE_COMMIT) or await asyncio.to_thread(self.workspace.head_commit)
        return MergeQueue(self.store, self.workspace, base=base, into=self.config.into, run_checks=self.config.run_checks)

    @property
    def running_plans(self) -> list[MountPlan]:
        """Every plan that runs workers: the worker types, and the validators when validation is on."""
        return self.worker_plans + (self.validator_plans if self.config.validation else [])

    def _make_workers(self) -> list[Worker]:
        options = WorkerOptions(provider_factory=self.config.provider_factory, validation=self.config.validation,
                                run_checks=self.config.run_checks)
        return [
            Worker(f"{plan.fleet.worker_type}-{n}", plan, self.store, self.workspace,
                   run_over=self.run_over, stopping=self.stopping, sink=self.sink, options=options, board=self.board,
                   idle=self.idle)
            for plan in self.running_plans for n in range(1, self.worker_count(plan) + 1)
        ]

    async def _start_workers(self, on_started: Callable[[Fleet], None] | None) -> list[asyncio.Future]:
        """Start the workers (here or in processes); ``on_started`` is called once they are about to work."""
        if self.config.processes:
            return await self._start_processes(on_started)
        self.workers = self._make_workers()
        if on_started:
            on_started(self)
        return [asyncio.create_task(w.run()) for w in self.workers]

    async def _start_processes(self, on_started: Callable[[Fleet], None] | None) -> list[asyncio.Future]:
        """The workers spread round-robin over ``process_count`` spawned processes (default one each), let
        go together once all are up (when they were is kept in ``processes_up``) and told through the
        :class:`~workers.standalone.ProcessGate` when the run is over; each process is joined in a
        thread, and interrupted on Ctrl-C."""
        ctx = mp.get_context("spawn")
        providers = [self.config.provider] if self.config.provider else None
        slots = [(str(plan.path), f"{plan.fleet.worker_type}-{n}")
                 for plan in self.running_plans for n in range(1, self.worker_count(plan) + 1)]
        count = min(self.config.process_count or len(slots), len(slots))
        gate = ProcessGate(ctx)
        procs = [
            ctx.Process(target=worker_process_main, name=slots[k][1] if count == len(slots) else f"workers-{k + 1}",
                        args=(slots[k::count], providers, str(self.workspace.root), self.store.path,
                              self.config.provider_factory, gate, self.config.remote))
            for k in range(count)
        ]
        spawned = time.monotonic()
        for proc in procs:
            proc.start()
        self.processes_up = await asyncio.to_thread(gate.open, procs, spawned)
        if on_started:
            on_started(self)

        async def forward_stop() -> None:
            await self.stopping.wait()
            for proc in procs:
                if proc.pid and proc.is_alive():
                    os.kill(proc.pid, signal.SIGINT)

        async def forward_over() -> None:
            await self.run_over.wait()
            gate.end()

        forwarders = [asyncio.create_task(forward_stop()), asyncio.create_task(forward_over()),
                      asyncio.create_task(gate.hear_idle(self.idle))]
        joined = [asyncio.create_task(asyncio.to_thread(proc.join)) for proc in procs]
        done = asyncio.gather(*joined)
        done.add_done_callback(lambda _: [forwarder.cancel() for forwarder in forwarders])
        return [done]

    async def _watch_or_stop(self, monitor: Monitor, merges: MergeQueue | None) -> None:
        """Watch; if the watch fails, stop every worker (each releases its claim) and keep why in ``fault``."""
        try:
            await self._watch(monitor, merges)
        except Exception as exc:
            self.fault = f"the foreman's watch failed ({type(exc).__name__}: {exc}); every worker was stopped"
            self.stopping.set()
            self.state = await reads.read(self.store, run_state, self.store)

    async def _watch(self, monitor: Monitor, merges: MergeQueue | None) -> None:
        """Merge what closed, then foreman reviews, until every issue is closed or waits for a human, or Ctrl-C.

        Reviews come every ``review_interval`` seconds, and at once when a worker runs out of work.
        """
        while not self.stopping.is_set():
            self.idle.clear()  # a worker going idle during this review wakes the next one at once
            if merges is not None:
                self.foreman_stats.last_action = "merging closed branches"
                await merges.advance()
            self.foreman_stats.state, self.foreman_stats.last_action = "reviewing", "reviewing the queue"
            self.changes += await writes.write(self.store, routing.route_untaken, self.store, self.worker_plans)
            self.state = await monitor.review()
            self.foreman_stats.state = "watching"
            if self.state.over and not await _merged_more(merges):
                return
            if not self.config.remote and not any(self.worker_count(p) for p in self.worker_plans):
                return  # nobody would work the queue (with a remote, workers on other machines do)
            await wait_any(self.stopping, self.idle, timeout=self.config.review_interval)
        self.state = await reads.read(self.store, run_state, self.store)


    async def _enforce_run_budget(self) -> None:
        """Every :data:`BUDGET_POLL` seconds, add up what the run's sessions used since the run started;
        at a limit of the run budget, stop the run gracefully (like one Ctrl-C)."""
        meter = UsageMeter(self.store, since=float((self.store.get_state(RUN) or {}).get("started_at") or 0))
        while not self.stopping.is_set():
            reason = exceeded(self.config.budget, await asyncio.to_thread(meter.read))
            if reason:
                self.budget_stop = f"run budget {reason}"
                self.changes.append(f"the run budget {reason}: stopped gracefully (raise it and run again with --resume)")
                self.stopping.set()
                return
            await asyncio.sleep(BUDGET_POLL)


async def _merged_more(merges: MergeQueue | None) -> bool:
    """Merge what closed since this tick's merge; True when that made new work (a merge issue)."""
    return merges is not None and any(result.merge_issue for result in await merges.advance())


def _database_exists(location: str) -> bool:
    """True when the database at ``location`` exists: a file (a path or ``sqlite:///path``), or a
    PostgreSQL database holding the issue schema.

    Raises:
        IssueError: the PostgreSQL server cannot be reached or refuses the login.
    """
    if location.startswith(POSTGRES_SCHEMES):
        try:
            open_store(location).disconnect()
        except DatabaseMissing:
            return False
        return True
    return Path(location.removeprefix("sqlite:///")).is_file()


def _select_plans(config: FleetConfig) -> tuple[MountPlan, list[MountPlan], list[MountPlan]]:
    """(foreman, worker plans, validator plans) of the plans folder.

    Raises:
        PlanError: not exactly one foreman; ``--workers`` names an unknown type; validation is on
            and no plan has ``fleet.role: "validator"``.
    """
    plans = load_plans(config.plans_dir)
    if config.provider:
        plans = [p.with_providers([config.provider]) for p in plans]
    foremen = [p for p in plans if p.fleet.role == "foreman"]
    if len(foremen) != 1:
        raise PlanError(f"{config.plans_dir}: need exactly one plan with fleet.role \"foreman\", found {len(foremen)}")
    workers = [p for p in plans if p.fleet.role == "worker"]
    validators = [p for p in plans if p.fleet.role == "validator"]
    defined = [p.fleet.worker_type for p in workers + validators]
    unknown = sorted(set(config.workers) - set(defined))
    if unknown:
        raise PlanError(f"--workers names unknown worker types {unknown}; plans define {defined}")
    if config.validation and not validators:
        raise PlanError(f"{config.plans_dir}: verified work needs a plan with fleet.role \"validator\" "
                        "(copy mount_plans/validator.json), or pass --no-validation")
    return foremen[0], workers, validators
