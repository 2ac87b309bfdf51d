"""``foreman dashboard``: serve the live web dashboard of a fleet's database (issue 10).

Exit codes: 0 stopped with Ctrl-C, 2 it could not start (no database there, a busy port, an
address that cannot be used).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from foreman.cli.fleet import console, fail
from foreman.dashboard import DEFAULT_HOST, DEFAULT_PORT, DashboardError, open_dashboard, token_path
from foreman.issues import open_store, resolve_db
from foreman.issues.errors import IssueError
from foreman.runtime.plans import PLANS_DIR

PORTS = click.IntRange(0, 65535)  # 0: any free port


@click.command("dashboard")
@click.option("--db", envvar="FOREMAN_DB", help="Issue database [default: WORKSPACE/.foreman/issues.db].")
@click.option("--workspace", type=click.Path(file_okay=False), default=".", show_default=True,
              help="The fleet's workspace (for the diff of each issue's branch).")
@click.option("--host", default=DEFAULT_HOST, show_default=True,
              help="Address to listen on; anything but loopback makes every page need the token.")
@click.option("--port", type=PORTS, default=DEFAULT_PORT, show_default=True, help="Port to listen on (0: any free one).")
@click.option("--plans", "plans_dir", type=click.Path(file_okay=False), default=str(PLANS_DIR), show_default=True,
              help="Mount plans, for each worker type's lease TTL (a worker silent longer is shown dead).")
def dashboard_command(db, workspace, host, port, plans_dir):
    """Serve the live web dashboard: overview, issues, each issue's transcript and diff, workers, controls."""
    root = Path(workspace).resolve()
    location = resolve_db(db, root)
    try:
        open_store(location).disconnect()
        dashboard = open_dashboard(location, root, host=host, port=port, plans_dir=Path(plans_dir))
    except IssueError as exc:
        fail(str(exc))
    except DashboardError as exc:
        fail(f"{exc}; choose another port with --port N (0: any free one)")
    console.print(f"dashboard: {dashboard.url}", soft_wrap=True)
    console.print(f"control token: {dashboard.settings.token} (kept in {token_path(location)}); Ctrl-C stops",
                  soft_wrap=True)
    asyncio.run(dashboard.serve())
