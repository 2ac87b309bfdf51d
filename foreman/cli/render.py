"""How CLI results look: stable JSON on stdout with ``--json``, rich tables and sentences otherwise.

JSON shapes: one object for one result, a list for list results (empty lists stay lists), and
``{"error": {"code", "message", ...}}`` for errors. Human messages go to stderr.

Nothing that comes from the user or the database is ever read as rich markup: every value is put
in a :class:`rich.text.Text` (``[local]`` or an id like ``[x]`` prints as typed), and only the
styles written here are styles. Tables never cut the id or the status: on a terminal the other
columns wrap to its width; piped, the table is as wide as its longest row (one line per issue).
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from foreman.issues.models import Claim, Dependency, DependencyType, Event, EventKind, Issue, IssueDetail, Note

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

WIDEST_PIPED_TABLE = 10_000  # characters; a piped table is measured up to this width

#: How ``dep add`` / ``dep remove`` say what an edge means (``{a}`` depends on ``{b}``).
DEPENDENCY_SENTENCES = {
    DependencyType.BLOCKS: "{a} waits until {b} is closed",
    DependencyType.PARENT_CHILD: "{a} is a child of {b} ({b} waits until its children are closed)",
    DependencyType.RELATED: "{a} is related to {b}",
    DependencyType.DISCOVERED_FROM: "{a} was discovered while working on {b}",
}


class DependencyEdge(BaseModel):
    """A dependency edge without its time: ``issue_id`` depends on ``depends_on`` with kind ``type``."""

    issue_id: str
    depends_on: str
    type: DependencyType


class DependencyRemoved(BaseModel):
    """What ``dep remove`` prints: ``{"removed": {"issue_id", "depends_on", "type"}}`` in JSON."""

    removed: DependencyEdge


class CommandReport(BaseModel):
    """A command's result that says itself in sentences (``foreman import``, ``status``, ...).

    ``--json`` prints its fields; plain output prints :meth:`lines`, one per line, never as markup.
    """

    def lines(self) -> list[str]:
        """The plain-text output, one string per line."""
        raise NotImplementedError(f"{type(self).__name__} must say how it prints")


def emit(result: Any, as_json: bool) -> None:
    """Print a command's result (pydantic model, list of models, dict or None)."""
    if as_json:
        print(json.dumps(_jsonable(result), indent=2))
    elif isinstance(result, list):
        _table(result)
    elif isinstance(result, IssueDetail):
        _detail(result)
    elif result is not None:
        out.print(_sentence(result))


def emit_error(payload: dict[str, Any], as_json: bool) -> None:
    """Print an error: JSON object on stdout with ``--json``, one line on stderr otherwise."""
    if as_json:
        print(json.dumps({"error": payload}, indent=2))
    else:
        err.print(Text.assemble(("error", "red"), f" ({payload['code']}): {payload['message']}"))


def _sentence(result: Any) -> Text:
    """One line for one result."""
    if isinstance(result, CommandReport):
        return Text("\n".join(result.lines()))
    if isinstance(result, Claim):
        lease = f"{result.lease_expires_at:%H:%M:%S}"
        return Text.assemble("claimed ", (result.issue.id, "bold"), f" as {result.worker}: token {result.token}, "
                             f"lease until {lease} UTC")
    if isinstance(result, Issue):
        return Text.assemble((result.id, "bold"), f" {result.status.value}: {result.title}")
    if isinstance(result, Note):
        return Text(f"noted on {result.issue_id} (note {result.id})")
    if isinstance(result, Dependency):
        meaning = DEPENDENCY_SENTENCES[result.type].format(a=result.issue_id, b=result.depends_on)
        return Text(f"added: {meaning} ({result.type.value})")
    if isinstance(result, DependencyRemoved):
        edge = result.removed
        return Text(f"removed: {edge.issue_id} no longer depends on {edge.depends_on} ({edge.type.value})")
    return Text(json.dumps(_jsonable(result), indent=2))


def _jsonable(result: Any) -> Any:
    if isinstance(result, BaseModel):
        return result.model_dump(mode="json")
    if isinstance(result, list):
        return [_jsonable(item) for item in result]
    return result


def _table(rows: list[Any]) -> None:
    if not rows:
        err.print("(none)")
        return
    table = _events(rows) if isinstance(rows[0], Event) else _issues(rows)
    needed = Measurement.get(out, out.options.update_width(WIDEST_PIPED_TABLE), table).maximum
    if out.is_terminal:
        narrow = needed > out.width and not isinstance(rows[0], Event)
        out.print(_issues(rows, compact=True) if narrow else table)
    else:  # print(width=) cannot exceed the console's width: a wider console for this table
        Console(highlight=False, width=max(out.width, needed)).print(table)


def _issues(issues: list[Issue], *, compact: bool = False) -> Table:
    """One row per issue; ``compact`` (a narrow terminal) puts the metadata under the title, dimmed."""
    table = Table()
    for name in ("id", "P", "status"):
        table.add_column(name, no_wrap=True)
    for name in ("type", "assignee", "title") + (() if compact else ("metadata",)):
        table.add_column(name, overflow="fold")
    for i in issues:
        meta = ", ".join(f"{k}={v}" for k, v in i.metadata.items())
        cells = [Text(i.id), Text(str(i.priority)), Text(i.status.value), Text(i.type.value), Text(i.assignee or "")]
        if compact:
            cells.append(Text.assemble(i.title, *(("\n", (meta, "dim")) if meta else ())))
        else:
            cells += [Text(i.title), Text(meta)]
        table.add_row(*cells)
    return table


def _events(events: list[Event]) -> Table:
    table = Table()
    for name in ("#", "time (UTC)", "issue", "event"):
        table.add_column(name, no_wrap=True)
    table.add_column("actor", overflow="fold")
    table.add_column("data", overflow="fold", ratio=1)
    for e in events:
        cells = (str(e.id), f"{e.created_at:%H:%M:%S}", e.issue_id, e.kind.value, e.actor, json.dumps(e.data)[:120])
        table.add_row(*map(Text, cells))
    return table


def _check_result(run: Event) -> str:
    """``passed in 0.4 s on 1a2b3c4`` / ``exit 1 ...``: the latest run of one check."""
    data = run.data
    how = "passed" if data.get("passed") else ("timed out" if data.get("timed_out") else f"exit {data.get('exit_code')}")
    where = f" on {data['commit'][:7]}" if data.get("commit") else ""
    return f"{how} in {data.get('seconds', 0):.1f} s{where}, {data.get('where', 'worktree')}"


def _detail(detail: IssueDetail) -> None:
    i = detail.issue
    out.print(Text.assemble((i.id, "bold"), f" [{i.status.value}] P{i.priority} {i.type.value}: {i.title}"))
    for label, value in (
        ("assignee", i.assignee), ("labels", ", ".join(i.labels)), ("metadata", json.dumps(i.metadata) if i.metadata else ""),
        ("description", i.description), ("acceptance", i.acceptance_criteria), ("blocked because", i.blocking_notes),
        ("close reason", i.close_reason), ("attempts", f"{i.attempts}/{i.max_attempts}"),
    ):
        if value:
            out.print(Text(f"  {label}: {value}"))
    for d in detail.dependencies:
        out.print(Text(f"  depends on {d.depends_on} ({d.type.value})"))
    for d in detail.dependents:
        out.print(Text(f"  {d.issue_id} depends on this ({d.type.value})"))
    for a in detail.attempts:
        out.print(Text(f"  attempt {a.number}: {a.worker} token {a.token} -> {a.outcome or 'running'} {a.error or ''}"))
    latest = {e.data["command"]: e for e in detail.evidence if e.kind == EventKind.CHECKED}
    for command in i.checks:
        run = latest.get(command)
        verdict = "not run yet" if run is None else _check_result(run)
        out.print(Text(f"  check: {command}  ({verdict})"))
    for e in detail.evidence:
        if e.kind == EventKind.VERDICT:
            found = "; ".join(e.data.get("critical_issues") or []) or "no critical issues"
            out.print(Text(f"  verdict by {e.actor}: {e.data['verdict']}: {found}"))
    for n in detail.notes:
        out.print(Text.assemble("  ", (f"{n.created_at:%Y-%m-%d %H:%M:%S}", "dim"), f" {n.author}: {n.body}"))
