"""A backlog file and the issue database, both ways: import a task list, export issues as one (issue 12).

:func:`import_tasks` is the one path from tasks to issues (``foreman import``, ``foreman run
--tasks``, ``demo.py --tasks``): issues are created by task key (``create_keyed``), so importing a
file twice creates nothing new; a task whose fields changed updates its issue; ``depends_on`` and
``parent`` become dependencies and exported notes come back. Dependencies are added after the
issues exist (one transaction each), so an import into a database a fleet is working may let a
worker claim a new issue in the moment before its dependency lands; import before ``foreman run``.
An import never deletes: a dependency or note dropped from the file stays on the issue.

:func:`export_tasks` writes issues back as tasks, with their dependencies and notes, so an export
imported into a fresh database gives the same issues, dependencies and notes.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import yaml
from pydantic import BaseModel, Field

from foreman.issues import DependencyType, Issue, IssueStore, IssueUpdate, Status
from foreman.runtime.budgets import BUDGET, CALL_TIMEOUT
from foreman.runtime.tasks import ESTIMATE, INPUTS, TASK_KEY, TASK_METADATA, TaskNote, TaskSpec

#: issue fields a task sets (an import updates them to match the file)
TASK_FIELDS = ("title", "description", "acceptance_criteria", "type", "priority", "labels", "checks")


class ImportReport(BaseModel):
    """What an import did, by issue id; ``updated`` maps an issue id to the fields that changed."""

    created: list[str] = Field(default_factory=list)
    updated: dict[str, list[str]] = Field(default_factory=dict)
    unchanged: list[str] = Field(default_factory=list)
    dependencies_added: int = 0
    notes_added: int = 0
    ids: dict[str, str] = Field(default_factory=dict)  #: task key -> issue id


def import_tasks(store: IssueStore, tasks: list[TaskSpec], *, actor: str) -> ImportReport:
    """Create or update one issue per task, then add dependencies and notes; idempotent.

    Args:
        tasks: a checked task list (:func:`foreman.runtime.tasks.check_graph`: unique keys, known ids, no cycle).
        actor: who is recorded in the events (``operator``, ``runtime``).

    Raises:
        IssueError: the store refused (e.g. ``DependencyCycle`` with edges already in the database).
    """
    report = ImportReport()
    results = store.create_keyed([t.new_issue() for t in tasks], key=TASK_KEY, actor=actor)
    for task, (issue, created) in zip(tasks, results):
        report.ids[task.key] = issue.id
        if created:
            report.created.append(issue.id)
            continue
        changed = _update(store, issue, task, actor)
        if changed:
            report.updated[issue.id] = changed
        else:
            report.unchanged.append(issue.id)
    for task in tasks:
        report.dependencies_added += _add_dependencies(store, task, report.ids, actor)
        report.notes_added += _add_notes(store, report.ids[task.key], task.notes)
    return report


def _update(store: IssueStore, issue: Issue, task: TaskSpec, actor: str) -> list[str]:
    """Bring ``issue`` in line with ``task`` (fields and task-owned metadata); returns the names that changed."""
    wanted = task.new_issue()
    changes = {name: getattr(wanted, name) for name in TASK_FIELDS if getattr(issue, name) != getattr(wanted, name)}
    given = task.metadata()
    meta = {key: given.get(key) for key in TASK_METADATA if issue.metadata.get(key) != given.get(key)}
    if meta:
        changes["metadata"] = meta
    if changes:
        store.update(issue.id, IssueUpdate(**changes), actor=actor)
    return [*(k for k in changes if k != "metadata"), *meta]


def _add_dependencies(store: IssueStore, task: TaskSpec, ids: dict[str, str], actor: str) -> int:
    """Add the task's ``depends_on`` (blocks) and ``parent`` (parent-child) edges it lacks; returns how many."""
    issue_id = ids[task.key]
    have = {(d.depends_on, d.type) for d in store.show(issue_id).dependencies}
    wanted = [(ids[key], DependencyType.BLOCKS) for key in task.depends_on]
    if task.parent:
        wanted.append((ids[task.parent], DependencyType.PARENT_CHILD))
    missing = [edge for edge in wanted if edge not in have]
    for depends_on, kind in missing:
        store.dep_add(issue_id, depends_on, kind, actor=actor)
    return len(missing)


def _add_notes(store: IssueStore, issue_id: str, notes: list[TaskNote]) -> int:
    """Append the notes the issue does not have yet (same author and text, counted); returns how many."""
    have = Counter((n.author, n.body) for n in store.show(issue_id).notes)
    added = 0
    for note in notes:
        if have[(note.author, note.body)]:
            have[(note.author, note.body)] -= 1
            continue
        store.note(issue_id, note.body, author=note.author)
        added += 1
    return added


def task_id(issue: Issue) -> str:
    """The id a task file gives ``issue``: its task key, else its issue id."""
    return issue.metadata.get(TASK_KEY) or issue.id


def export_tasks(store: IssueStore, statuses: list[Status] | None = None) -> tuple[list[TaskSpec], int]:
    """The issues (of ``statuses``, default all) as tasks, oldest first, and how many dependencies were left out.

    A dependency on an issue that is not exported is left out (an import would refuse it as a
    missing id). Status, claims and attempts are not part of a task: an import makes open issues.
    """
    issues = store.list(statuses=statuses or None)
    ids = {issue.id: task_id(issue) for issue in issues}
    tasks, dropped = [], 0
    for issue in issues:
        detail = store.show(issue.id)
        kept = [d for d in detail.dependencies if d.depends_on in ids and d.type.gates]
        dropped += sum(d.type.gates for d in detail.dependencies) - len(kept)
        meta = issue.metadata
        tasks.append(TaskSpec(
            id=ids[issue.id], title=issue.title, description=issue.description, acceptance=issue.acceptance_criteria,
            type=issue.type, priority=issue.priority, worker_type=meta.get("worker_type"), labels=issue.labels,
            estimate_hours=meta.get(ESTIMATE), inputs=meta.get(INPUTS) or [], checks=issue.checks,
            depends_on=[ids[d.depends_on] for d in kept if d.type == DependencyType.BLOCKS],
            parent=next((ids[d.depends_on] for d in kept if d.type == DependencyType.PARENT_CHILD), None),
            blocked_reason=issue.blocking_notes if issue.status == Status.BLOCKED else None,
            timeout=meta.get(CALL_TIMEOUT), budget=meta.get(BUDGET),
            notes=[TaskNote(author=n.author, body=n.body) for n in detail.notes],
        ))
    return tasks, dropped


def write_tasks(tasks: list[TaskSpec], path: Path) -> None:
    """Write ``tasks`` to ``path``: JSON for a ``.json`` name, else YAML; only fields that are set.

    The file is written next to its final name and renamed, so a failed export never leaves half a file.
    """
    data = [{"id": task.key, **task.model_dump(mode="json", exclude_defaults=True, exclude={"id"})} for task in tasks]
    if path.suffix.lower() == ".json":
        text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    else:
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)
