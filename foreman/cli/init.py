"""``foreman init [DIR]``: a workspace for a newcomer, ``DIR/.foreman/`` with the database and an example task file.

Refuses a folder that has a ``.foreman/`` already (exit 4, ``already_initialized``); a ``DIR``
that is a file, or cannot be created, is exit 2. ``--json`` prints the paths made (docs/cli.md).
"""

from __future__ import annotations

import shlex
import shutil
import sys
from pathlib import Path

import click

from foreman.cli.render import CommandReport, emit, emit_error
from foreman.issues import open_store
from foreman.issues.errors import EXIT_REFUSED, InvalidInput, IssueError
from foreman.runtime.workspace import ensure_foreman_dir

EXAMPLE_TASKS = Path(__file__).resolve().parent.parent / "templates" / "tasks.yaml"


class AlreadyInitialized(IssueError):
    """``foreman init`` on a folder that has a ``.foreman/``: it is never touched."""

    code, exit_code = "already_initialized", EXIT_REFUSED


class InitResult(CommandReport):
    """What ``foreman init`` made (paths as given on the command line)."""

    directory: str
    database: str
    task_file: str

    def lines(self) -> list[str]:
        """What was made, then the next steps."""
        enter = [] if self.directory == "." else [f"cd {shlex.quote(self.directory)}"]
        task_file = ".foreman/tasks.yaml"
        return [f"initialized {self.directory}: database {self.database}, example task file {self.task_file}",
                "next: " + " && ".join([*enter, f"$EDITOR {task_file}", f"foreman import {task_file}",
                                        "foreman run", "foreman status"])]


def initialize(directory: Path) -> InitResult:
    """Make ``directory`` (and parents) with ``.foreman/issues.db`` and ``.foreman/tasks.yaml``.

    Raises:
        AlreadyInitialized: ``directory/.foreman`` exists.
        InvalidInput: ``directory`` is a file or cannot be created.
    """
    folder = directory / ".foreman"
    if folder.exists():
        raise AlreadyInitialized(f"{folder} exists; init never touches an existing workspace "
                                 f"(add tasks to it with `foreman import FILE --db {folder / 'issues.db'}`)",
                                 path=str(folder))
    try:
        directory.mkdir(parents=True, exist_ok=True)
        ensure_foreman_dir(directory)
        shutil.copyfile(EXAMPLE_TASKS, folder / "tasks.yaml")
    except (FileExistsError, NotADirectoryError):
        raise InvalidInput(f"{directory} is a file, not a folder", path=str(directory)) from None
    except OSError as exc:
        raise InvalidInput(f"{directory}: cannot create the workspace ({exc.strerror})", path=str(directory)) from None
    open_store(str(folder / "issues.db"), create=True).disconnect()
    return InitResult(directory=str(directory), database=str(folder / "issues.db"), task_file=str(folder / "tasks.yaml"))


@click.command("init")
@click.argument("directory", default=".", type=click.Path(file_okay=True))
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON on stdout.")
def init_command(directory, as_json):
    """Start a workspace in DIRECTORY (default: here): .foreman/ with the issue database and an example task file."""
    try:
        result = initialize(Path(directory))
    except IssueError as exc:
        emit_error(exc.to_dict(), as_json)
        sys.exit(exc.exit_code)
    emit(result, as_json)
