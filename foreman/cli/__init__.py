"""The ``foreman`` console script: ``foreman issues ...`` (the issue database) and the fleet commands."""

from __future__ import annotations

import click

from foreman.cli.dashboard import dashboard_command
from foreman.cli.fleet import run_command, worker_command
from foreman.cli.issues import issues


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="amplifier-foreman")
def cli() -> None:
    """amplifier-foreman: a foreman and concurrent worker sessions over a shared issue database."""


cli.add_command(issues)
cli.add_command(run_command)
cli.add_command(worker_command)
cli.add_command(dashboard_command)


def main() -> None:
    """Console-script entry point."""
    cli()
