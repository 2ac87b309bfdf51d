"""``foreman import FILE`` and ``foreman export FILE``: a backlog file into the issue database and back (issue 12).

Both take ``--db`` (or ``$FOREMAN_DB``) and ``--json`` like ``foreman issues``. Exit codes
(docs/cli.md): 0 ok; 2 a task file that cannot be used (``invalid_task_file``: bad YAML or JSON,
an unknown key, a missing dependency, a cycle; ``task_file_unreadable``: missing or unreadable)
or an export that cannot be written; 4 refused (a cycle with dependencies already in the
database, an export over an existing file without ``--force``); 7 database missing or unreadable.
A task file that cannot be used changes nothing, not even creating the database.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from foreman.backlog import ImportReport, export_tasks, import_tasks, write_tasks
from foreman.cli.issues import STATUSES, actor_option, store_command
from foreman.cli.render import CommandReport
from foreman.issues import Status
from foreman.issues.errors import EXIT_REFUSED, InvalidInput, IssueError
from foreman.runtime.tasks import TaskFileError, load_tasks


class InvalidTaskFile(InvalidInput):
    """A task file with bad YAML or JSON, an unknown key, a missing dependency or a cycle."""

    code = "invalid_task_file"


class TaskFileUnreadable(InvalidInput):
    """A task file that does not exist or cannot be read."""

    code = "task_file_unreadable"


class OutputExists(IssueError):
    """``foreman export`` would overwrite a file (``--force`` allows it)."""

    code, exit_code = "file_exists", EXIT_REFUSED


class ImportResult(ImportReport, CommandReport):
    """What ``foreman import`` prints: the import report and the file it read."""

    file: str

    def lines(self) -> list[str]:
        """One line per created or updated issue, then the totals."""
        keys = {issue_id: key for key, issue_id in self.ids.items()}
        lines = [f"created {issue_id} ({keys[issue_id]})" for issue_id in self.created]
        lines += [f"updated {issue_id} ({keys[issue_id]}): {', '.join(fields)}" for issue_id, fields in self.updated.items()]
        added = f"{self.dependencies_added} {'dependency' if self.dependencies_added == 1 else 'dependencies'}"
        added += f" and {self.notes_added} {'note' if self.notes_added == 1 else 'notes'} added"
        lines.append(f"imported {self.file}: {len(self.created)} created, {len(self.updated)} updated, "
                     f"{len(self.unchanged)} unchanged; {added}")
        return lines


class ExportResult(CommandReport):
    """What ``foreman export`` prints: the file, the issues written, and dependencies left out."""

    file: str
    exported: list[str]  #: task ids, in the file's order
    dependencies_left_out: int  #: dependencies on issues outside the export (``--status``)

    def lines(self) -> list[str]:
        """One sentence."""
        left_out = (f"; {self.dependencies_left_out} dependencies on issues not exported were left out"
                    if self.dependencies_left_out else "")
        return [f"exported {len(self.exported)} issues to {self.file}{left_out}"]


def _read_tasks(kwargs: dict[str, Any]) -> dict[str, Any]:
    """``prepare`` hook of ``import``: the task file's tasks, read before the database is opened."""
    try:
        return kwargs | {"tasks": load_tasks(kwargs["file"])}
    except TaskFileError as exc:
        error = TaskFileUnreadable if exc.code == TaskFileUnreadable.code else InvalidTaskFile
        raise error(str(exc), file=kwargs["file"]) from None


@click.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@actor_option
@store_command(create=True, prepare=_read_tasks)
def import_command(store, file, tasks, actor):
    """Create an issue per task of FILE (YAML or JSON), with dependencies; idempotent.

    Importing the same file again creates nothing; a task that changed updates its issue (and
    says which fields). Dependencies or notes removed from the file are kept on the issues.
    """
    report = import_tasks(store, tasks, actor=actor)
    return ImportResult(file=file, **report.model_dump())


@click.command("export")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--status", "-s", "statuses", multiple=True, type=STATUSES, help="Only issues with this status (repeatable).")
@click.option("--force", is_flag=True, help="Overwrite FILE if it exists.")
@store_command()
def export_command(store, file, statuses, force):
    """Write the issues as a task file (YAML, or JSON for a .json name) that `foreman import` reads back.

    Each task keeps its id (task key, else issue id), fields, dependencies and notes.
    """
    path = Path(file)
    if path.exists() and not force:
        raise OutputExists(f"{file} exists; give --force to overwrite it", file=file)
    tasks, left_out = export_tasks(store, [Status(s) for s in statuses])
    try:
        write_tasks(tasks, path)
    except OSError as exc:
        raise InvalidInput(f"{file}: cannot write the export ({exc.strerror})", file=file) from None
    return ExportResult(file=file, exported=[t.key for t in tasks], dependencies_left_out=left_out)
