"""The worker runtime: claim an issue, run a session on it, keep its lease, settle the outcome.

One :class:`Worker` per running worker. In ``runtime`` claim mode the runtime claims the next ready
issue matching the plan's ``fleet.takes`` and gives the session that issue as its task; in
``agent`` mode the model claims through ``issue_claim``. Either way the runtime renews the lease
(:class:`~foreman.runtime.lease.LeaseKeeper`) and cancels the session if the lease is lost. A session
that ends without closing or blocking its issue fails the attempt (the issue goes back to the
queue, or to dead letter after ``max_attempts``), with the reason recorded. A session that cannot
start (its worktree or modules fail) is the worker's fault, not the issue's: the claim is released
and the worker backs off, as it does after any runtime fault (a store that stays locked), waiting
:func:`fault_backoff` seconds before it tries again. Its state goes to the ``workers`` table
(:class:`~workers.status.StatusReporter`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from amplifier_core.models import HookResult

from foreman.issues import EventKind, Issue, IssueStore, Status, reads, writes
from foreman.issues.errors import NothingReady
from foreman.issues.identity import CLOSE_GATE_CAPABILITY, WorkerIdentity
from foreman.runtime.budgets import call_timeout, issue_budget
from foreman.runtime.lease import LeaseKeeper
from foreman.runtime.plans import MountPlan
from foreman.runtime.recorder import EventSink, SessionRecorder, WorkerStats
from foreman.runtime.sessions import FleetSession, open_session
from foreman.runtime.workspace import Workspace
from foreman.sandbox import READ_ONLY_CAPABILITY
from workers.budget import BudgetGuard
from workers.checks import CHECK_TIMEOUT
from workers.gate import CloseGate
from workers.guard import WorkspaceGuard
from workers.prompts import AGENT_MODE_TASK, settle_prompt, task_prompt
from workers.results import with_upstream
from workers.review import BASE_COMMIT, branch_diff, review_prompt, verdict_prompt
from workers.status import StatusBoard, StatusReporter

POLL_INTERVAL = 0.5  # seconds between looks at the queue when nothing is ready
FAULT_BACKOFF_FIRST = 0.5  # seconds waited after a first runtime fault; doubled after each fault in a row
FAULT_BACKOFF_MAX = 30.0  # seconds: the longest wait between tries after runtime faults
# Sessions opening at once in one process (WorkerOptions.starts). An open awaits the kernel's threads
# about ten times (module mounts), so N opens begun together interleave and all end together once
# all have run: every worker's first model call waited for all N (0.3 s at N = 128, docs/benchmarks.md).
# Taken in turns, the first workers call their model after one open and the fleet's calls come back
# spread out; two at a time fill one open's waits on the kernel with the other's work.
STARTS_AT_ONCE = 2
ProviderFactory = Callable[[MountPlan, str], Any]  # (plan, worker name) -> provider object (tests, rehearsal)
log = logging.getLogger(__name__)


class SessionNotStarted(RuntimeError):
    """A worker could not start a session (worktree, modules, provider): its fault, not the issue's."""


def fault_backoff(faults: int) -> float:
    """Seconds to wait after ``faults`` runtime faults in a row: 0.5, 1, 2, 4, ... capped at FAULT_BACKOFF_MAX."""
    return min(FAULT_BACKOFF_MAX, FAULT_BACKOFF_FIRST * 2 ** (faults - 1))


@dataclass
class WorkerOptions:
    """How a worker runs.

    Attributes:
        poll_interval: seconds between queue checks when idle.
        until_idle: stop as soon as nothing it can take is ready (instead of waiting for run over).
        provider_factory: builds a provider that replaces the plan's (scripted rehearsal, tests).
        validation: a close whose checks pass goes to a validator (False: ``--no-validation``).
        run_checks: False only for the quality benchmark's baseline (no checks at close).
        check_timeout: seconds each check may run.
        starts: the start gate: at most :data:`STARTS_AT_ONCE` of the workers sharing these options
            open a session at the same moment (one options object per process).
    """

    poll_interval: float = POLL_INTERVAL
    until_idle: bool = False
    provider_factory: ProviderFactory | None = None
    validation: bool = True
    run_checks: bool = True
    check_timeout: float = CHECK_TIMEOUT
    starts: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(STARTS_AT_ONCE))


class Worker:
    """One worker of a fleet.

    Args:
        name: unique worker name, e.g. ``coding-1`` (assignee and event actor).
        plan: the worker type's mount plan (``fleet.role == "worker"``).
        store: the shared issue store.
        workspace: the fleet's workspace.
        run_over: set by the foreman when the run ends; the worker stops once idle after that.
        stopping: set on Ctrl-C: finish the current step, release the claim, stop.
        sink: where session events are written (shared by the process's workers).
        board: where the worker's status row is written (shared by the process's workers);
            default: a board of its own.
        idle: set when the worker runs out of ready issues, once per stretch without work (the
            fleet's watch reviews at once, so the run ends when its last issue settles, not at
            the next review interval).
    """

    def __init__(self, name: str, plan: MountPlan, store: IssueStore, workspace: Workspace, *,
                 run_over: asyncio.Event, stopping: asyncio.Event, sink: EventSink,
                 options: WorkerOptions | None = None, board: StatusBoard | None = None,
                 idle: asyncio.Event | None = None) -> None:
        self.name, self.plan, self.store, self.workspace, self.sink = name, plan, store, workspace, sink
        self.run_over, self.stopping, self.idle = run_over, stopping, idle
        self.options = options or WorkerOptions()
        self.stats = WorkerStats()
        self.identity = WorkerIdentity(name=name, where=plan.fleet.takes, lease_ttl=plan.fleet.lease_ttl)
        self.status = StatusReporter(store, name, plan.fleet.worker_type, self.stats, board=board)
        self._agent_sessions = 0
        self._guard: WorkspaceGuard | None = None  # the current session's (workers/guard.py, issue 9)

    async def run(self) -> WorkerStats:
        """Work issues until the run is over (or Ctrl-C); returns the worker's totals."""
        faults, worked = 0, True
        async with self.status:
            while not self.stopping.is_set():
                try:
                    was_working, worked = worked, await self._one_issue()
                    faults = 0
                except Exception as exc:  # a runtime fault: back off, never end the run or spin
                    faults += 1
                    if not await self._after_fault(exc, faults):
                        break
                    continue
                if not worked and was_working and self.idle is not None:
                    self.idle.set()
                if not worked:
                    if self.options.until_idle or self.run_over.is_set():
                        break
                    await wait_any(self.stopping, self.run_over, timeout=self.options.poll_interval, store=self.store)
            self._enter("stopped")
        return self.stats

    def _enter(self, state: str, issue_id: str | None = None, action: str | None = None) -> None:
        """Change the worker's state (and issue, last action); its ``workers`` row is written at once."""
        self.stats.state = state
        self.stats.issue_id = issue_id
        if action is not None:
            self.stats.last_action = action
        self.status.changed()

    async def _after_fault(self, exc: Exception, faults: int) -> bool:
        """Record a runtime fault, fail a claim still held, wait :func:`fault_backoff` seconds.

        Returns False once the run is over (the worker stops instead of trying again).
        """
        self._enter("backing off", action=f"runtime error: {type(exc).__name__}: {exc}")
        log.warning("%s: runtime error (%d in a row): %s: %s", self.name, faults, type(exc).__name__, exc)
        await self._drop_claim(str(exc))
        await wait_any(self.stopping, self.run_over, timeout=fault_backoff(faults))
        return not self.run_over.is_set()

    async def _one_issue(self) -> bool:
        """Claim and work one issue; False when nothing was ready.

        Raises:
            SessionNotStarted: the session could not start (the claim was released, no attempt failed).
        """
        self._enter("idle")
        if self.plan.fleet.claim_mode == "agent":
            return await self._agent_turn()
        reviewing = self.plan.fleet.role == "validator"
        take = self.store.claim_review if reviewing else self.store.claim_next
        try:
            claim = await writes.write(self.store, take, self.name, self.plan.fleet.takes, ttl=self.plan.fleet.lease_ttl)
        except NothingReady:
            return False
        self.identity.claim = claim
        self._enter("working", claim.issue.id, "reviewing" if reviewing else "claimed")
        guard = None if reviewing else await self._budget_guard(claim.issue)
        if guard is not None and guard.check():
            await self._over_budget(claim.issue.id, claim.token, guard.reason)
            return True
        try:
            if reviewing:
                prompt, stages = await self._review_prompt(claim.issue.id), None
                where = self.workspace.worktree_of(claim.issue.id)
            else:
                prompt, where, stages = await self._task(claim.issue.id)
            session = await self._open(where, claim.issue.id, call_timeout(claim.issue, None), stages)
        except Exception as exc:
            await self._release(claim.issue.id, claim.token, f"session did not start: {exc}")
            raise SessionNotStarted(f"session did not start: {exc}") from exc
        error, lost = await self._run_session(session, prompt, guard)
        if guard is not None and guard.reason:
            await self._settle_over_budget(claim.issue.id, claim.token, guard.reason)
            return True
        settle = self._settle_review if reviewing else self._settle
        await settle(claim.issue.id, claim.token, lost, error, worktree=claim.issue.id)
        return True

    async def _budget_guard(self, issue: Issue) -> BudgetGuard | None:
        """A guard on the issue's budget (its own over the plan's default); None when it has none."""
        budget = issue_budget(issue, self.plan.fleet.budget)
        if budget.empty:
            return None
        return await asyncio.to_thread(BudgetGuard.read, self.store, issue.id, budget)

    async def _task(self, issue_id: str) -> tuple[str, Path, list[str]]:
        """The issue as the session's task with the results of the issues it builds on, its worktree
        holding their work (issue 12), and their ids."""
        detail, earlier = await reads.read(self.store, with_upstream, self.store, issue_id)
        stages = [d.issue.id for d in earlier]
        where = await self.workspace.checkout(issue_id, stages)
        return task_prompt(detail, earlier), where, stages

    async def _review_prompt(self, issue_id: str) -> str:
        """The validator's task: the issue, its evidence and the diff of its branch against the run's base."""
        detail = await asyncio.to_thread(self.store.show, issue_id)
        base = await asyncio.to_thread(self.store.get_state, BASE_COMMIT)
        return review_prompt(detail, await branch_diff(self.workspace.root, issue_id, base))

    async def _agent_turn(self) -> bool:
        """Agent mode: the model picks and claims through the issue tool, in a worktree per session."""
        if not await asyncio.to_thread(self.store.ready, self.plan.fleet.takes, limit=1):
            return False
        self.identity.claimed = []
        self._enter("working")
        self._agent_sessions += 1
        key = f"{self.name}-session-{self._agent_sessions}"
        try:
            session = await self._open(await self.workspace.checkout(key), key)
        except Exception as exc:
            raise SessionNotStarted(f"session did not start: {exc}") from exc
        error, lost = await self._run_session(session, AGENT_MODE_TASK)
        held = self.identity.claim
        for issue_id in self.identity.claimed:
            token = held.token if held and held.issue.id == issue_id else None
            await self._settle(issue_id, token, lost, error, worktree=key)
        return True

    async def _run_session(self, session: FleetSession, prompt: str,
                           guard: BudgetGuard | None = None) -> tuple[str | None, str | None]:
        """Run one session turn with the lease kept, Ctrl-C honoured and the budget (if any) enforced;
        returns (error, lease-lost reason)."""
        error = None
        guard = guard or BudgetGuard.unlimited()
        guard.attach(session)
        async with LeaseKeeper(self.store, lambda: self.identity.claim, self.plan.fleet.lease_ttl,
                               lambda why: session.cancel()) as lease, _cancel_on(self.stopping, session), guard:
            try:
                await session.execute(prompt)
                if self._unsettled(lease) and not guard.reason and not self._guard.violation:
                    follow_up = verdict_prompt if self.plan.fleet.role == "validator" else settle_prompt
                    await session.execute(follow_up(self.identity.claim.issue.id))
            except RuntimeError as exc:
                error = str(exc)
            finally:
                await session.cleanup()
                await self.sink.flush()
        return self._guard.violation or error, lease.lost_reason

    def _unsettled(self, lease: LeaseKeeper) -> bool:
        """True when the turn ended normally but the claim is still held (neither closed nor blocked)."""
        return self.identity.claim is not None and not lease.lost_reason and not self.stopping.is_set()

    async def _open(self, where, key: str, timeout: float | None = None, stages: list[str] | None = None) -> FleetSession:
        """A session working in ``where``; its ``issue_close`` goes through a close gate on the worktree of ``key``.

        It opens inside the start gate (``WorkerOptions.starts``).

        ``timeout``: seconds one model call may take (the issue's ``call_timeout``), None: the plan's.
        ``stages``: the earlier stages the worktree started from (the close gate's, see workers/results.py).
        """
        provider = self.options.provider_factory(self.plan, self.name) if self.options.provider_factory else None
        options = self.options
        gate = CloseGate(self.store, self.workspace, key, validation=options.validation, actor=self.name,
                         timeout=options.check_timeout, run_checks=options.run_checks, stages=stages)
        async with options.starts:
            session = await open_session(self.plan, workspace=where, identity=self.identity, store=self.store,
                                         provider=provider, capabilities={CLOSE_GATE_CAPABILITY: gate, **self._read_only()},
                                         call_timeout=timeout)
        recorder = SessionRecorder(self.sink, self.name, self.stats, self.identity)
        recorder.attach(session.hooks)
        self._guard = WorkspaceGuard(self.workspace.root, where, self.workspace.git)
        await self._guard.attach(session)
        if self.plan.fleet.claim_mode == "runtime":
            session.hooks.register("tool:post", self._stop_when_settled(session), name="foreman-settled")
        return session

    def _read_only(self) -> dict[str, list[str]]:
        """In a git workspace, the user's repository (checkout, .git, refs, .foreman/issues.db) is
        read-only to the session's shell commands, its worktree excepted (issue 7, defect 10)."""
        return {READ_ONLY_CAPABILITY: [str(self.workspace.root)]} if self.workspace.git else {}

    def _stop_when_settled(self, session: FleetSession) -> Callable[[str, dict], Awaitable[HookResult]]:
        """A tool:post hook that ends the turn once the model closed or blocked its issue.

        Small models otherwise keep calling tools on an issue they no longer hold.
        """
        async def check(event: str, data: dict) -> HookResult:
            if self.identity.claim is None:
                await session.cancel()
            return HookResult()

        return check

    async def _settle(self, issue_id: str, token: int | None, lost: str | None, error: str | None, *,
                      worktree: str) -> None:
        """Record how the attempt ended: closed or in review (its close gate committed and checked
        ``worktree``), blocked, lease lost, or failed.

        ``token`` is the claim's fencing token, or None when the model itself already closed or
        blocked the issue it claimed (agent mode).
        """
        issue = await reads.read(self.store, self.store.get, issue_id)
        mine = issue.assignee == self.name and (token is None or issue.fence == token)
        submitted = issue.status == Status.IN_REVIEW and issue.submitted_by == self.name
        if submitted or (issue.status == Status.CLOSED and mine):
            self.stats.closed.append(issue_id)
        elif issue.status == Status.BLOCKED and mine:
            self.stats.blocked.append(issue_id)
        elif lost:
            self.stats.last_action = f"lease lost: {lost}"
            self.stats.failed.append(issue_id)
        elif issue.status == Status.IN_PROGRESS and mine and token is not None:
            reason = error or "session ended without closing or blocking the issue"
            await self._fail(issue_id, token, reason + await self._last_refusal(issue_id, issue.fence))
        self.identity.claim = None

    async def _last_refusal(self, issue_id: str, token: int) -> str:
        """``; last refused close: check `cmd` exited N: output tail`` when this claim's close was refused."""
        detail = await asyncio.to_thread(self.store.show, issue_id)
        claimed = max((e.id for e in await asyncio.to_thread(self.store.events, issue_id, kinds=[EventKind.CLAIMED])
                       if e.data.get("token") == token), default=0)
        failed = [e.data for e in detail.evidence if e.kind == EventKind.CHECKED and e.id > claimed and not e.data["passed"]]
        if not failed:
            return ""
        last = failed[-1]
        return f"; last refused close: check `{last['command']}` exited {last['exit_code']}: {last['output'][-300:]}"

    async def _settle_review(self, issue_id: str, token: int, lost: str | None, error: str | None, *,
                             worktree: str) -> None:
        """A validator's review ended: with a verdict, or not (the review fails; another one follows, bounded)."""
        if self.identity.claim is None:
            self.stats.reviewed.append(issue_id)
        elif lost:
            self.stats.last_action = f"review lease lost: {lost}"
        else:
            await self._fail(issue_id, token, error or "the review ended without a verdict")
        self.identity.claim = None

    async def _settle_over_budget(self, issue_id: str, token: int, reason: str) -> None:
        """The session was stopped at a budget limit: dead letter, unless it closed, blocked or lost the claim first."""
        issue = await asyncio.to_thread(self.store.get, issue_id)
        if issue.status == Status.IN_PROGRESS and issue.fence == token:
            await self._over_budget(issue_id, token, reason)
        else:
            await self._settle(issue_id, token, None, None, worktree=issue_id)

    async def _over_budget(self, issue_id: str, token: int, reason: str) -> None:
        """End the attempt with outcome ``budget``: the issue goes to dead letter (issue 12)."""
        self.identity.claim = None
        self.stats.last_action = reason
        try:
            await asyncio.to_thread(self.store.over_budget, issue_id, token, reason=reason)
            self.stats.failed.append(issue_id)
        except Exception as exc:  # the claim was lost meanwhile: the lease expires on its own
            self.stats.last_action = f"could not settle: {exc}"

    async def _drop_claim(self, reason: str) -> None:
        """After a runtime fault: fail the claim still held, if any."""
        claim, self.identity.claim = self.identity.claim, None
        if claim is not None:
            await self._fail(claim.issue.id, claim.token, f"runtime error: {reason}")

    async def _fail(self, issue_id: str, token: int, reason: str) -> None:
        """Give the issue back: released on Ctrl-C, otherwise a failed attempt (dead letter after max)."""
        if self.stopping.is_set():
            await self._release(issue_id, token, "worker stopping")
            return
        try:
            await asyncio.to_thread(self.store.fail, issue_id, token, error=reason[:500])
            self.stats.failed.append(issue_id)
        except Exception as exc:  # the claim was lost meanwhile, or the store fails: the lease expires on its own
            self.stats.last_action = f"could not settle: {exc}"

    async def _release(self, issue_id: str, token: int, reason: str) -> None:
        """Give the claim back to the queue with no failed attempt (it still counts in the issue's ``attempts``)."""
        self.identity.claim = None
        try:
            await asyncio.to_thread(self.store.release, issue_id, token, reason=reason[:500])
        except Exception as exc:  # the claim was lost meanwhile, or the store fails: the lease expires on its own
            self.stats.last_action = f"could not release {issue_id}: {exc}"


@asynccontextmanager
async def _cancel_on(event: asyncio.Event, session: FleetSession) -> AsyncIterator[None]:
    """Cancel ``session`` (it finishes its current step) if ``event`` is set while the block runs."""
    async def watch() -> None:
        await event.wait()
        await session.cancel()

    watcher = asyncio.create_task(watch())
    try:
        yield
    finally:
        watcher.cancel()


async def wait_any(*events: asyncio.Event, timeout: float, store: IssueStore | None = None) -> None:
    """Wait until one of ``events`` is set or ``timeout`` seconds pass, or until ``store`` reports a
    change when it can (PostgreSQL's LISTEN/NOTIFY, issue 11; SQLite cannot, and is polled)."""
    waiters = [asyncio.create_task(e.wait()) for e in events]
    if store is not None and store.can_wake:
        waiters.append(asyncio.create_task(_until_changed(store, timeout)))
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


async def _until_changed(store: IssueStore, timeout: float) -> None:
    """Return when ``store`` reports a change within ``timeout`` seconds; never return otherwise
    (a wait that was not woken leaves ending to the caller's timeout)."""
    if not await asyncio.to_thread(store.wait_for_change, timeout):
        await asyncio.Event().wait()
