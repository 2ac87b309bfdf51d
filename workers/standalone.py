"""A worker outside the foreman's process: ``foreman worker`` in any shell, or a spawned worker process.

It opens the shared database, follows the foreman's ``run_over`` flag and stop requests there
(:mod:`workers.stop_requests`), and stops gracefully on the first SIGINT/SIGTERM (finishing its
step and releasing its claim).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import signal
from pathlib import Path

from foreman.issues import open_store, resolve_db
from foreman.runtime import module_cache
from foreman.runtime.fleet_state import RUN_OVER
from foreman.runtime.plans import MountPlan, load_plan
from foreman.runtime.recorder import EventSink, WorkerStats
from foreman.runtime.workspace import Workspace
from workers.gate import VERIFICATION_STATE
from workers.runtime import ProviderFactory, Worker, WorkerOptions
from workers.stop_requests import follow_stop_requests
from workers.remote import RemoteWorkspace

RUN_OVER_POLL = 1.0  # seconds between reads of the run_over flag

log = logging.getLogger(__name__)


async def run_standalone_worker(plan: MountPlan, name: str, workspace: Path, db: str | None,
                                options: WorkerOptions, stopping: asyncio.Event, *,
                                remote: str | None = None) -> WorkerStats:
    """Run one worker on the database at ``db`` (default ``<workspace>/.foreman/issues.db``) until the run is over.

    With ``remote`` (a git URL) ``workspace`` is this worker's own clone of it and every issue's
    branch is pushed there (:class:`~workers.remote.RemoteWorkspace`, issue 11).

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
    run_over = asyncio.Event()
    watcher = asyncio.create_task(_follow_run_over(store, run_over))
    stopper = asyncio.create_task(follow_stop_requests(store, stopping, store.clock.now()))
    try:
        sink = EventSink(store)
        return await Worker(name, plan, store, ws, run_over=run_over, stopping=stopping, sink=sink, options=options).run()
    finally:
        watcher.cancel()
        stopper.cancel()
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


def worker_process_main(plan_path: str, providers: list[str] | None, name: str, workspace: str, db: str | None,
                        provider_factory: ProviderFactory | None, remote: str | None = None) -> None:
    """Entry point of a spawned worker process (``multiprocessing`` start method ``spawn``); with
    ``remote`` (a git URL) ``workspace`` is a clone of it, as for :func:`run_standalone_worker`."""
    plan = load_plan(plan_path)
    if providers:
        plan = plan.with_providers(providers)

    async def main() -> None:
        stopping = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            asyncio.get_running_loop().add_signal_handler(sig, stopping.set)
        options = WorkerOptions(provider_factory=provider_factory)
        await run_standalone_worker(plan, name, Path(workspace), db, options, stopping, remote=remote)

    asyncio.run(main())
