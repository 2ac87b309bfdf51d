"""Task files: a YAML or JSON list of issues for the foreman to create.

Read by ``foreman run --tasks FILE``, ``foreman import FILE`` and ``demo.py --tasks FILE`` (issue 12).
Each task: ``title`` (required), ``id`` (a stable key, needed to be referred to), ``description``,
``acceptance``, ``type``, ``priority`` (0-4), ``worker_type`` (matched by a worker plan's
``fleet.takes``), ``labels``, ``estimate_hours``, ``depends_on`` (ids of tasks that must close
first), ``parent`` (the id of its epic, which waits for its children), ``blocked_reason`` (create
it blocked), ``inputs`` (ids of tasks whose results its prompt gets), ``checks`` (shell commands
that must exit 0 in the issue's worktree before it closes), ``timeout`` (seconds per model call),
``budget`` (limits on the issue's model use, enforced by the runtime: foreman/runtime/budgets.py)
and ``notes`` (written by ``foreman export``).
Each task's issue carries its :attr:`TaskSpec.key` in ``metadata.task_key``, so a task list
planned twice creates every task once. The file is either a list of tasks or ``{"tasks": [...]}``.
The seed scenario is such a file: ``examples/seed/tasks.yaml`` (issue 9, item 5).
"""

from __future__ import annotations

import graphlib
import hashlib
import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from foreman.issues import IssueType, NewIssue
from foreman.issues.models import Check
from foreman.runtime.budgets import BUDGET, CALL_TIMEOUT, Budget
from foreman.runtime.plans import PlanError

TASK_KEY = "task_key"  #: issue metadata key holding the task's stable key
INPUTS = "inputs"  #: issue metadata key: task keys whose results the issue's prompt gets
ESTIMATE = "estimate_hours"  #: issue metadata key: the task's estimate, in hours
#: the metadata keys a task file owns: an import sets or removes them to match the file
TASK_METADATA = ("worker_type", ESTIMATE, INPUTS, BUDGET, CALL_TIMEOUT)


class TaskFileError(PlanError):
    """A task file that cannot be used: the message names the file, the task and the field.

    ``code`` is ``task_file_unreadable`` (missing or unreadable file) or ``invalid_task_file``
    (bad YAML/JSON, an unknown key, a missing dependency, a cycle); both exit 2 in the CLI.
    """

    def __init__(self, message: str, code: str = "invalid_task_file") -> None:
        super().__init__(message)
        self.code = code


class TaskNote(BaseModel):
    """A note on the task's issue (``foreman export`` writes them, so an import restores them)."""

    model_config = ConfigDict(extra="forbid")

    author: str = Field("operator", min_length=1)
    body: str = Field(min_length=1)


class TaskSpec(BaseModel):
    """One issue the foreman should create."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200)
    id: str | None = Field(None, min_length=1, max_length=100)  #: stable key; default: a hash of the title
    description: str = ""
    acceptance: str = ""
    type: IssueType = IssueType.TASK
    priority: int = Field(2, ge=0, le=4)
    worker_type: str | None = None  #: routes it to a worker plan (``fleet.takes``); a run refuses a task no plan takes
    labels: list[str] = Field(default_factory=list)
    estimate_hours: float | None = Field(None, ge=0)
    depends_on: list[str] = Field(default_factory=list)  #: ids of tasks that must close before this one is ready
    parent: str | None = None  #: id of the epic this task belongs to (the epic waits for its children)
    blocked_reason: str | None = None
    inputs: list[str] = Field(default_factory=list)  #: ids of tasks whose results this task's prompt gets
    checks: list[Check] = Field(default_factory=list)  #: commands that must exit 0 in the worktree to close (issue 8)
    timeout: float | None = Field(None, gt=0)  #: seconds one model call may take
    budget: Budget | None = None  #: the issue's limits (foreman.runtime.budgets), in ``metadata["budget"]``
    notes: list[TaskNote] = Field(default_factory=list)

    @property
    def key(self) -> str:
        """The task's stable key: its ``id``, else ``title:`` and a hash of its title (case and spacing ignored)."""
        if self.id is not None:
            return self.id
        title = " ".join(self.title.split()).casefold()
        return "title:" + hashlib.sha256(title.encode()).hexdigest()[:16]

    def metadata(self) -> dict[str, Any]:
        """The task's part of its issue's metadata (:data:`TASK_METADATA`): only the keys the task gives."""
        given = {
            "worker_type": self.worker_type,
            ESTIMATE: self.estimate_hours,
            INPUTS: self.inputs or None,
            BUDGET: self.budget.model_dump(exclude_none=True) if self.budget else None,
            CALL_TIMEOUT: self.timeout,
        }
        return {key: value for key, value in given.items() if value is not None}

    def new_issue(self) -> NewIssue:
        """The issue to create for this task (its key in ``metadata.task_key``)."""
        return NewIssue(title=self.title, description=self.description, acceptance_criteria=self.acceptance,
                        type=self.type, priority=self.priority, labels=self.labels,
                        metadata={**self.metadata(), TASK_KEY: self.key},
                        blocked_reason=self.blocked_reason, checks=self.checks)


def load_tasks(path: str | Path) -> list[TaskSpec]:
    """Read a task file: YAML (``.yaml``/``.yml``) or JSON (any other name), a list of tasks or ``{"tasks": [...]}``.

    Raises:
        TaskFileError: a missing or unreadable file, bad YAML or JSON, a task with a missing or
            unknown field, two tasks with one id, or a ``depends_on``/``parent``/``inputs`` id that
            is not a task of the file or closes a cycle (file, task and field named; seed 004).
    """
    file = Path(path)
    data = _parse(file)
    if isinstance(data, dict) and set(data) == {"tasks"}:
        data = data["tasks"]
    if not isinstance(data, list):
        raise TaskFileError(f"{file}: expected a list of tasks (or a mapping with only the key 'tasks'), "
                            f"got {type(data).__name__}")
    try:
        tasks = TypeAdapter(list[TaskSpec]).validate_python(data)
    except ValidationError as exc:
        raise TaskFileError(f"{file}: {_first_error(exc, data)}") from None
    try:
        check_graph(tasks)
    except ValueError as exc:
        raise TaskFileError(f"{file}: {exc}") from None
    return tasks


def _parse(file: Path) -> Any:
    """The file's YAML or JSON content. Raises TaskFileError (unreadable file, or a syntax error with its line)."""
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise TaskFileError(f"{file}: cannot read the task file ({why})", code="task_file_unreadable") from None
    if file.suffix.lower() in (".yaml", ".yml"):
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"line {mark.line + 1}: " if mark else ""
            raise TaskFileError(f"{file}: {where}invalid YAML ({getattr(exc, 'problem', None) or exc})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise TaskFileError(f"{file}: line {exc.lineno}: invalid JSON ({exc.msg})") from None


def _first_error(exc: ValidationError, data: list) -> str:
    """``task 2 (id 'design'): field 'owner': Extra inputs are not permitted`` for the first problem."""
    first = exc.errors()[0]
    index, *field = first["loc"]
    entry = data[index] if isinstance(index, int) and index < len(data) else None
    named = f" (id {entry['id']!r})" if isinstance(entry, dict) and isinstance(entry.get("id"), str) else ""
    where = f"field {'.'.join(map(str, field))!r}: " if field else ""
    return f"task {index}{named}: {where}{first['msg']}"


def check_graph(tasks: list[TaskSpec]) -> None:
    """Refuse references that cannot work: duplicate ids, an unknown id, a waiting cycle.

    ``depends_on`` and ``parent`` gate readiness (a task waits for what it depends on; an epic
    waits for its children), so together they must form no cycle; ``inputs`` only name ids.

    Raises:
        ValueError: naming the task and the field, e.g. ``task 'b': depends_on: 'x' is not a task id in this file``.
    """
    keys = [t.key for t in tasks]
    repeated = sorted({k for k in keys if keys.count(k) > 1})
    if repeated:
        raise ValueError(f"task {repeated[0]!r}: id: used by more than one task; give each task its own id")
    waits: dict[str, set[str]] = {key: set() for key in keys}
    for task in tasks:
        for field, ids in (("depends_on", task.depends_on), ("parent", [task.parent] if task.parent else []),
                           ("inputs", task.inputs)):
            for other in ids:
                if other not in waits:
                    raise ValueError(f"task {task.key!r}: {field}: {other!r} is not a task id in this file")
                if other == task.key:
                    raise ValueError(f"task {task.key!r}: {field}: a task cannot refer to itself")
        waits[task.key] |= set(task.depends_on)
        if task.parent:
            waits[task.parent].add(task.key)
    try:
        graphlib.TopologicalSorter(waits).prepare()
    except graphlib.CycleError as exc:
        cycle = exc.args[1]
        raise ValueError(f"task {cycle[0]!r}: depends_on: a cycle, each waits on the next: "
                         f"{' -> '.join(map(repr, reversed(cycle)))}") from None
