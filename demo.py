"""The seed scenario: a foreman plans five issues, two coding workers and one research worker work
them, and the foreman unblocks the blocked one. Run ``python demo.py --help`` for the options.

With ``ANTHROPIC_API_KEY`` set it uses Claude; otherwise the embedded local model (no network).
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

import click
from rich.markup import escape

from foreman.cli.fleet import (
    PROVIDERS,
    START_ERRORS,
    budget_options,
    console,
    dashboard_options,
    fail,
    parse_workers,
    process_settings,
    processes_option,
    run_budget,
    run_fleet,
    verification_options,
)
from foreman.fleet import FleetConfig
from foreman.runtime.tasks import TaskSpec, load_tasks
from foreman.runtime.workspace import create_repository

DEFAULT_WORKSPACE = Path(".demo-workspace")
EXAMPLES = Path(__file__).resolve().parent / "examples"
SEED = EXAMPLES / "seed"  #: the seed scenario: tasks.yaml and the sample workspace it works on
REHEARSAL_TASKS = EXAMPLES / "rehearsal.json"


def fresh_workspace(path: Path) -> None:
    """Create the seed workspace at ``path`` as a new git repository (parents too); an old one is moved aside, never deleted."""
    if path.exists():
        kept = path.with_name(f"{path.name}.{time.strftime('%Y%m%d-%H%M%S')}")
        path.rename(kept)
        console.print(f"previous workspace kept at {escape(str(kept))}")
    create_repository(SEED / "workspace", path)


def wants_fresh_workspace(path: Path, resume: bool) -> bool:
    """The default workspace is made fresh on every new run, any other path only when it does not exist yet."""
    return not resume and (path.resolve() == DEFAULT_WORKSPACE.resolve() or not path.exists())


def provider_banner(provider: str, rehearsal: bool) -> str:
    """Say which model the run uses and why."""
    if rehearsal:
        return "model: scripted rehearsal (no model)"
    if provider == "auto":
        provider = "anthropic" if os.environ.get("ANTHROPIC_API_KEY") else "llamacpp"
    reasons = {"anthropic": "Claude via the Anthropic API", "openai": "an OpenAI-compatible server",
               "llamacpp": "the embedded local model (no API key, no network)"}
    return f"model: {reasons[provider]}"


def default_tasks(rehearsal: bool) -> list[TaskSpec]:
    """The seed scenario (``examples/seed/tasks.yaml``); the rehearsal plays ``examples/rehearsal.json`` (checks a script can meet)."""
    return load_tasks(REHEARSAL_TASKS if rehearsal else SEED / "tasks.yaml")


@click.command()
@click.option("--goal", help="Plan this goal instead of the seed scenario.")
@click.option("--tasks", "tasks_file", type=click.Path(dir_okay=False),
              help="Task file (YAML or JSON, e.g. examples/tool-builder.yaml) instead of the seed scenario.")
@click.option("--workspace", type=click.Path(file_okay=False), default=str(DEFAULT_WORKSPACE), show_default=True,
              help="Work here. The default, or a path that does not exist yet, is created fresh with the seed's "
                   "sample app as a git repository (an old default is moved aside); another existing folder is used as is.")
@click.option("--workers", "workers_spec", default="coding=2,research=1", show_default=True, help="Workers per type.")
@click.option("--provider", type=click.Choice(list(PROVIDERS)), default="auto", show_default=True)
@click.option("--resume", is_flag=True, help="Finish an interrupted run from its database.")
@click.option("--db", envvar="FOREMAN_DB", help="Issue database [default: WORKSPACE/.foreman/issues.db].")
@processes_option
@click.option("--rehearsal", is_flag=True, help="Fast scripted rehearsal of the whole verified-work cycle: fake LLMs "
              "play examples/rehearsal.json; everything else is real.")
@verification_options
@budget_options
@dashboard_options
def main(goal, tasks_file, workspace, workers_spec, provider, resume, db, processes, rehearsal, no_validation, into,
         budget_usd, budget_tokens, dashboard_port, no_dashboard):
    """Multi-worker orchestration demo on real Amplifier sessions (exit codes as `foreman run`: 0, 2, 3, 130)."""
    path = Path(workspace)
    console.rule("amplifier-foreman demo")
    console.print(provider_banner(provider, rehearsal))
    try:
        if wants_fresh_workspace(path, resume):
            fresh_workspace(path)
        elif not path.is_dir():
            fail(f"{path}: no such workspace directory")
        tasks = load_tasks(tasks_file) if tasks_file else (None if goal else default_tasks(rehearsal))
        config = FleetConfig(workspace=path, db=db, workers=parse_workers(workers_spec), provider=PROVIDERS[provider],
                             tasks=tasks, goal=goal, resume=resume, **process_settings(processes), validation=not no_validation,
                             into=into, budget=run_budget(budget_usd, budget_tokens))
        console.print(f"workspace: {escape(str(path.resolve()))}")
        port = None if no_dashboard else dashboard_port
        sys.exit(asyncio.run(run_fleet(config, rehearsal=rehearsal, dashboard_port=port)))
    except START_ERRORS as exc:
        fail(str(exc))


if __name__ == "__main__":
    main()
