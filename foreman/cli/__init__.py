"""The ``foreman`` console script: ``foreman issues ...`` (the issue database), the fleet commands, and the
backlog commands (``init``, ``import``, ``export``, ``status``, ``retry``)."""

from __future__ import annotations

import click

from foreman.cli.backlog import export_command, import_command
from foreman.cli.dashboard import dashboard_command
from foreman.cli.fleet import run_command, worker_command
from foreman.cli.init import init_command
from foreman.cli.issues import issues
from foreman.cli.retry import retry_command
from foreman.cli.status import status_command


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="amplifier-foreman")
def cli() -> None:
    """amplifier-foreman: a foreman and concurrent worker sessions over a shared issue database."""


cli.add_command(issues)
cli.add_command(run_command)
cli.add_command(worker_command)
for command in (init_command, import_command, export_command, status_command, retry_command):  # issue 12
    cli.add_command(command)
cli.add_command(dashboard_command)


def main() -> None:
    """Console-script entry point."""
    cli()
