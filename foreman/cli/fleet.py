"""``foreman run`` (a whole fleet) and ``foreman worker`` (one worker joining a shared database).

Ctrl-C once: workers finish their current step, release their claims and stop; twice: stop at once.
Exit codes: 0 the run is over, 1 a fault stopped it (the foreman's watch failed; every worker was
stopped), 2 it could not start (one error line: bad input, a run already holding the database, a
plan or workspace that cannot work), 3 the run budget (``--budget-usd``, ``--budget-tokens``)
stopped it, 130 stopped by Ctrl-C or by a stop request (the dashboard's graceful or emergency stop).
``run`` serves the web dashboard on 127.0.0.1:8765 unless ``--no-dashboard`` (``--dashboard-port N``,
``$FOREMAN_DASHBOARD_PORT``; a busy port is a warning).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Callable, Iterator
from typing import Any
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape

from foreman.dashboard import DEFAULT_PORT, DashboardError, open_dashboard, serving_in_process
from foreman.fleet import Fleet, FleetConfig, NothingToResume
from foreman.issues.errors import IssueError
from foreman.live import live_view
from foreman.merge_queue import INTEGRATION_BRANCH
from foreman.planner import PlanningError
from foreman.rehearsal import rehearsal_provider
from foreman.run_lock import RunLocked
from foreman.runtime.budgets import Budget
from foreman.runtime.plans import PLANS_DIR, PlanError, load_plan
from foreman.runtime.sessions import SessionStartError
from foreman.runtime.tasks import load_tasks
from foreman.runtime.workspace import WorkspaceError
from foreman.summary import print_summary
from workers.runtime import WorkerOptions
from workers.standalone import run_standalone_workers

PROVIDERS = {"auto": None, "anthropic": "provider-anthropic", "openai": "provider-openai", "llamacpp": "provider-llamacpp"}
EXIT_STOPPED = 130  # like a shell after SIGINT
EXIT_FAULT = 1  # a fault stopped the run (the summary says which)
EXIT_BUDGET = 3  # the run budget was reached; the run stopped gracefully
#: what stops a run or worker before it works: each is printed as one error line, exit 2
START_ERRORS = (PlanError, PlanningError, IssueError, SessionStartError, WorkspaceError, RunLocked, NothingToResume)
console = Console(highlight=False)


def parse_workers(spec: str | None) -> dict[str, int]:
    """``coding=2,research=1`` -> ``{"coding": 2, "research": 1}``.

    Raises:
        click.BadParameter: not of that shape.
    """
    counts: dict[str, int] = {}
    for part in filter(None, (spec or "").split(",")):
        name, sep, number = part.partition("=")
        if not sep or not number.isdigit():
            raise click.BadParameter(f"expected TYPE=N[,TYPE=N], got {part!r}", param_hint="--workers")
        counts[name.strip()] = int(number)
    return counts


def install_interrupts(stopping: asyncio.Event) -> None:
    """First SIGINT/SIGTERM: graceful stop; second: exit at once (leases expire on their own)."""
    loop = asyncio.get_running_loop()

    def handle() -> None:
        if stopping.is_set():
            os._exit(EXIT_STOPPED)
        console.print("[yellow]stopping: finishing current steps and releasing claims (Ctrl-C again to stop at once)[/]")
        stopping.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, handle)


async def run_fleet(config: FleetConfig, *, rehearsal: bool, dashboard_port: int | None = None) -> int:
    """Run a fleet with the live view (and the web dashboard on ``dashboard_port`` unless None) and
    print the summary; returns the process exit code."""
    if rehearsal:
        config.provider_factory = rehearsal_provider
        console.print("[bold magenta]REHEARSAL[/]: scripted fake LLMs play every role; sessions, tools and database are real")
    fleet = Fleet(config)
    install_interrupts(fleet.stopping)
    await fleet.prepare()
    with dashboard_beside(fleet, dashboard_port):
        async with live_view(fleet.store, console, since=fleet.started_at):
            report = await fleet.run()
    print_summary(report, fleet.store, fleet.workspace.root, console)
    for change in report.changes:
        console.print(f"[cyan]runtime[/]: {escape(change)}")
    if report.fault:
        return EXIT_FAULT
    if report.budget_stop:
        return EXIT_BUDGET
    return EXIT_STOPPED if report.interrupted else 0


@contextlib.contextmanager
def dashboard_beside(fleet: Fleet, port: int | None) -> Iterator[None]:
    """Serve the web dashboard of the fleet's database on ``port`` while the block runs (None: no dashboard).

    A port that cannot be used is one warning line and the run goes on without a dashboard
    (``foreman dashboard --port N`` can watch it from another shell).
    """
    if port is None:
        yield
        return
    try:
        dashboard = open_dashboard(fleet.store.path, fleet.workspace.root, plans_dir=fleet.config.plans_dir, port=port)
    except DashboardError as exc:
        console.print(f"[yellow]dashboard not started[/]: {escape(str(exc))}; the run goes on without it "
                      "(`foreman dashboard --port N` can watch it from another shell; --dashboard-port N or "
                      "--no-dashboard next time)", soft_wrap=True)
        yield
        return
    with serving_in_process(dashboard):
        console.print(f"dashboard: {escape(dashboard.url)}", soft_wrap=True)
        yield


def dashboard_options(command: Callable) -> Callable:
    """``--dashboard-port N`` and ``--no-dashboard`` (the web dashboard, issue 10), for ``run`` and the demo."""
    command = click.option("--no-dashboard", is_flag=True, help="Do not start the web dashboard.")(command)
    return click.option("--dashboard-port", type=click.IntRange(0, 65535), default=DEFAULT_PORT, show_default=True,
                        envvar="FOREMAN_DASHBOARD_PORT",
                        help="Port of the web dashboard on 127.0.0.1 (0: any free port).")(command)


def fail(message: str) -> None:
    """Print one clear error line (``message`` literally, brackets included; never wrapped) and exit 2."""
    console.print(f"[red]error[/]: {escape(message)}", soft_wrap=True)
    sys.exit(2)


def budget_options(command: Callable) -> Callable:
    """``--budget-usd`` and ``--budget-tokens`` (the run's budget, docs/budgets.md), for ``run`` and the demo."""
    command = click.option("--budget-tokens", type=click.IntRange(min=1),
                           help="Stop the run gracefully once its sessions used this many tokens (in + out).")(command)
    return click.option("--budget-usd", type=click.FloatRange(min=0, min_open=True),
                        help="Stop the run gracefully once its sessions cost this many USD.")(command)


def run_budget(budget_usd: float | None, budget_tokens: int | None) -> Budget:
    """The run budget of the command line's ``--budget-usd`` / ``--budget-tokens``."""
    return Budget(max_cost_usd=budget_usd, max_tokens=budget_tokens)


def verification_options(command: Callable) -> Callable:
    """``--no-validation`` and ``--into BRANCH`` (verified work, docs/verified-work.md), for ``run`` and the demo."""
    command = click.option("--into", default=INTEGRATION_BRANCH, show_default=True,
                           help="Branch the merge queue merges verified issue branches into.")(command)
    return click.option("--no-validation", is_flag=True,
                        help="Skip the validator (never the checks): a close whose checks pass closes.")(command)


def processes_option(command: Callable) -> Callable:
    """``--processes [N]`` for ``run`` and the demo: the workers in processes of their own (see :func:`process_settings`)."""
    return click.option("--processes", type=click.IntRange(min=0), is_flag=False, flag_value=0, default=None,
                        metavar="[N]", help="Run the workers in processes of their own: one per worker, or spread "
                                            "over N processes (default: asyncio tasks in this one).")(command)


def process_settings(processes: int | None) -> dict[str, Any]:
    """``FleetConfig``'s ``processes`` and ``process_count`` from ``--processes [N]``: None runs the
    workers in this process, 0 (the bare flag) one process per worker, N spreads them over N processes."""
    return {"processes": processes is not None, "process_count": processes or None}


@click.command("run")
@click.option("--goal", help="What the foreman should plan, in words.")
@click.option("--tasks", "tasks_file", type=click.Path(dir_okay=False),
              help="Task file (YAML or JSON) the foreman turns into issues (as `foreman import` does).")
@click.option("--workspace", type=click.Path(file_okay=False), default=".", show_default=True,
              help="Directory to work in (a git repository gets a worktree per issue).")
@click.option("--db", envvar="FOREMAN_DB", help="Issue database [default: WORKSPACE/.foreman/issues.db].")
@click.option("--plans", "plans_dir", type=click.Path(file_okay=False), default=str(PLANS_DIR), show_default=True,
              help="Folder of mount plans (one foreman, any number of worker types).")
@click.option("--workers", "workers_spec", help="Workers per type, e.g. coding=2,research=1 (default: each plan's count).")
@click.option("--provider", type=click.Choice(list(PROVIDERS)), default="auto", show_default=True,
              help="auto: each plan's providers by priority (Claude if ANTHROPIC_API_KEY is set, else embedded).")
@click.option("--resume", is_flag=True, help="Continue the run stored in the database.")
@processes_option
@click.option("--rehearsal", is_flag=True, help="Scripted fake LLMs instead of a model (fast; labelled).")
@click.option("--remote", metavar="GIT_URL",
              help="The workers' git remote (workers on several machines): --workspace is the foreman's clone of it "
                   "(made or reused), and the merge queue fetches each issue's branch from it and pushes the "
                   "integration branch there.")
@verification_options
@budget_options
@dashboard_options
def run_command(goal, tasks_file, workspace, db, plans_dir, workers_spec, provider, resume, processes, rehearsal,
                remote, no_validation, into, budget_usd, budget_tokens, dashboard_port, no_dashboard):
    """Run a foreman and its workers on a goal or task list until every issue is closed or waits for a human.

    With neither (nor --resume), work the issues already in the database (`foreman import FILE`).
    """
    try:
        config = FleetConfig(workspace=Path(workspace), db=db, plans_dir=Path(plans_dir), workers=parse_workers(workers_spec),
                             provider=PROVIDERS[provider], goal=goal, resume=resume, **process_settings(processes),
                             tasks=load_tasks(tasks_file) if tasks_file else None, validation=not no_validation,
                             into=into, budget=run_budget(budget_usd, budget_tokens), remote=remote)
        port = None if no_dashboard else dashboard_port
        sys.exit(asyncio.run(run_fleet(config, rehearsal=rehearsal, dashboard_port=port)))
    except START_ERRORS as exc:
        fail(str(exc))


@click.command("worker")
@click.option("--plan", "plan_file", required=True, type=click.Path(dir_okay=False), help="The worker type's mount plan.")
@click.option("--name", help="Worker name [default: WORKER_TYPE-PID].")
@click.option("--workspace", type=click.Path(file_okay=False), default=".", show_default=True)
@click.option("--db", envvar="FOREMAN_DB", help="Issue database [default: WORKSPACE/.foreman/issues.db].")
@click.option("--provider", type=click.Choice(list(PROVIDERS)), default="auto", show_default=True)
@click.option("--until-idle", is_flag=True, help="Stop when nothing is ready (instead of when the foreman ends the run).")
@click.option("--rehearsal", is_flag=True, help="Scripted fake LLM instead of a model.")
@click.option("--remote", metavar="GIT_URL",
              help="Work in an own clone of this git remote (made in --workspace) and push each issue's branch "
                   "there; for workers on several machines. Needs --db.")
def worker_command(plan_file, name, workspace, db, provider, until_idle, rehearsal, remote):
    """Run one worker against a shared issue database (several shells or machines form one fleet)."""
    try:
        if remote and not db:
            fail("--remote needs --db (the fleet's shared database, e.g. postgresql://host/db)")
        plan = load_plan(plan_file)
        if PROVIDERS[provider]:
            plan = plan.with_providers([PROVIDERS[provider]])
        if plan.fleet.role == "foreman":
            fail(f"{plan_file}: fleet.role is 'foreman'; `foreman worker` needs a worker or validator plan")
        options = WorkerOptions(until_idle=until_idle, provider_factory=rehearsal_provider if rehearsal else None)
        name = name or f"{plan.fleet.worker_type}-{os.getpid()}"
        stats = asyncio.run(_worker(plan, name, Path(workspace), db, options, remote))
        console.print(escape(f"{name}: closed {stats.closed}, blocked {stats.blocked}, failed {stats.failed}"))
    except START_ERRORS as exc:
        fail(str(exc))


async def _worker(plan, name: str, workspace: Path, db: str | None, options: WorkerOptions, remote: str | None):
    stopping = asyncio.Event()
    install_interrupts(stopping)
    stats = await run_standalone_workers([(plan, name)], workspace, db, options, stopping, remote=remote)
    return stats[0]
