"""A worker outside the foreman's process: ``foreman worker`` in any shell, or a spawned worker process.

It opens the shared database, follows the foreman's ``run_over`` flag and stop requests there
(:mod:`workers.stop_requests`), and stops gracefully on the first SIGINT/SIGTERM (finishing its
step and releasing its claim).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import queue
import signal
import sys
import time
from pathlib import Path
from typing import Any, NamedTuple

from foreman.issues import open_store, resolve_db
from foreman.runtime import module_cache
from foreman.runtime.fleet_state import RUN_OVER
from foreman.runtime.heap import settled_heap
from foreman.runtime.plans import MountPlan, load_plan
from foreman.runtime.recorder import EventSink, WorkerStats
from foreman.runtime.workspace import Workspace
from workers.gate import VERIFICATION_STATE
from workers.runtime import ProviderFactory, Worker, WorkerOptions
from workers.status import StatusBoard
from workers.stop_requests import follow_stop_requests
from workers.remote import RemoteWorkspace

RUN_OVER_POLL = 1.0  # seconds between reads of the run_over flag
GATE_POLL = 0.02  # seconds between looks at the signals a ProcessGate carries between processes
READY_POLL = 1.0  # seconds between looks at whether a process that is not up yet has ended

log = logging.getLogger(__name__)


async def run_standalone_workers(slots: list[tuple[MountPlan, str]], workspace: Path, db: str | None,
                                 options: WorkerOptions, stopping: asyncio.Event, *, remote: str | None = None,
                                 gate: ProcessGate | None = None) -> list[WorkerStats]:
    """Run one worker per ``(plan, name)`` of ``slots``, as asyncio tasks of this process, on the database
    at ``db`` (default ``<workspace>/.foreman/issues.db``) until the run is over; their stats in order.

    With ``remote`` (a git URL) ``workspace`` is this worker's own clone of it and every issue's
    branch is pushed there (:class:`~workers.remote.RemoteWorkspace`, issue 11). A spawned process
    passes its ``gate`` once the database is open, before any worker starts, tells the parent
    through it when a worker runs out of work, and hears there that the run is over (as well as
    from the database).

    The run's verification settings (validation on or off) come from the database, as the
    foreman recorded them, so a worker joining from another shell closes the way the run does.

    Raises:
        DatabaseMissing: no database there yet (start the foreman first, or create an issue).
    """
    module_cache.install()
    ws = RemoteWorkspace(workspace, remote) if remote else Workspace(workspace)
    store = open_store(resolve_db(db, ws.root))
    verification = store.get_state(VERIFICATION_STATE) or {}
    options = dataclasses.replace(options, **{k: v for k, v in verification.items() if k in ("validation", "run_checks")})
    if gate:
        await gate.passed()
    run_over, idle = asyncio.Event(), asyncio.Event()
    followers = [asyncio.create_task(_follow_run_over(store, run_over)),
                 asyncio.create_task(follow_stop_requests(store, stopping, store.clock.now()))]
    if gate:
        followers += [asyncio.create_task(gate.ended(run_over)), asyncio.create_task(gate.tell_idle(idle))]
    try:
        sink = EventSink(store)
        board = StatusBoard(store)
        workers = [Worker(name, plan, store, ws, run_over=run_over, stopping=stopping, sink=sink, options=options,
                          board=board, idle=idle if gate else None) for plan, name in slots]
        with settled_heap():
            return list(await asyncio.gather(*(worker.run() for worker in workers)))
    finally:
        for follower in followers:
            follower.cancel()
        store.disconnect()


async def _follow_run_over(store, run_over: asyncio.Event) -> None:
    """Set ``run_over`` once the foreman records that the run is over (a failed read is retried, never fatal)."""
    while True:
        try:
            if await asyncio.to_thread(store.get_state, RUN_OVER, False):
                break
        except Exception as exc:  # the worker backs off on the same fault; keep following
            log.warning("could not read %s: %s", RUN_OVER, exc)
        await asyncio.sleep(RUN_OVER_POLL)
    run_over.set()


class ProcessesUp(NamedTuple):
    """When spawned worker processes were all up: seconds from the first spawn, and each one's CPU seconds by then."""

    seconds: float
    cpu: list[float]


class ProcessGate:
    """What the fleet's process and its spawned worker processes tell each other (polled every
    :data:`GATE_POLL` seconds, instead of through the database at its slower polls):

    - the processes start their workers together, once every one is up (imported, database
      open): each puts its CPU seconds so far on ``ready`` and waits for ``go``;
    - a worker that runs out of work sets ``idle``, so the foreman reviews at once;
    - the parent sets ``over`` when the run is over, so the processes stop at once.

    Args:
        context: the ``multiprocessing`` context the processes are spawned with.
    """

    def __init__(self, context: Any) -> None:
        self.ready = context.Queue()
        self.go, self.idle, self.over = context.Event(), context.Event(), context.Event()

    async def passed(self) -> None:
        """In a worker process: say it is up, and wait until every process is."""
        self.ready.put(time.process_time())
        await asyncio.to_thread(self.go.wait)

    def open(self, processes: list, since: float) -> ProcessesUp:
        """In the parent (blocking): wait until each of ``processes`` is up, or one has ended without
        (it cannot start, so the others go without it), then let them all go; ``since`` is
        ``time.monotonic()`` of the first spawn."""
        cpu: list[float] = []
        while len(cpu) < len(processes) and not any(p.exitcode is not None for p in processes):
            with contextlib.suppress(queue.Empty):
                cpu.append(self.ready.get(timeout=READY_POLL))
        self.go.set()
        return ProcessesUp(time.monotonic() - since, cpu)

    async def tell_idle(self, idle: asyncio.Event) -> None:
        """In a worker process, for ever: pass each setting of ``idle`` (its workers') to the parent."""
        while True:
            await idle.wait()
            idle.clear()
            self.idle.set()

    async def hear_idle(self, idle: asyncio.Event) -> None:
        """In the parent, for ever: set ``idle`` (the fleet's) when a worker process said a worker went idle."""
        while True:
            if self.idle.is_set():
                self.idle.clear()
                idle.set()
            await asyncio.sleep(GATE_POLL)

    def end(self) -> None:
        """In the parent: the run is over."""
        self.over.set()

    async def ended(self, run_over: asyncio.Event) -> None:
        """In a worker process: set ``run_over`` once the parent has said the run is over."""
        while not self.over.is_set():
            await asyncio.sleep(GATE_POLL)
        run_over.set()


def worker_process_main(slots: list[tuple[str, str]], providers: list[str] | None, workspace: str, db: str | None,
                        provider_factory: ProviderFactory | None, gate: ProcessGate | None = None,
                        remote: str | None = None) -> None:
    """Entry point of a spawned worker process (``multiprocessing`` start method ``spawn``): one worker per
    ``(plan path, name)`` of ``slots``, started when ``gate`` opens and stopped when it says the run
    is over; with ``remote`` (a git URL) ``workspace`` is a clone of it, as for
    :func:`run_standalone_workers`."""
    plans = {path: load_plan(path) for path, _ in slots}
    if providers:
        plans = {path: plan.with_providers(providers) for path, plan in plans.items()}

    async def main() -> None:
        stopping = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            asyncio.get_running_loop().add_signal_handler(sig, stopping.set)
        await run_standalone_workers([(plans[path], name) for path, name in slots], Path(workspace), db,
                                     WorkerOptions(provider_factory=provider_factory), stopping, remote=remote,
                                     gate=gate)

    asyncio.run(main())
    _end_process()


def _end_process() -> None:
    """End a spawned worker process whose run ended: every write is committed by now (the workers
    flushed their events and status rows, the store is closed), so after flushing output and logs
    it exits without Python's teardown of its modules and threads, as ``multiprocessing`` ends its
    forked children; that teardown took about 170 ms here, with 64 workers, after the run was over."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
