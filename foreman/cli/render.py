"""How CLI results look: stable JSON on stdout with ``--json``, rich tables otherwise.

JSON shapes: one object for one result, a list for list results (empty lists stay lists), and
``{"error": {"code", "message", ...}}`` for errors. Human messages go to stderr.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from foreman.issues.models import Claim, Event, Issue, IssueDetail, Note

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def emit(result: Any, as_json: bool) -> None:
    """Print a command's result (pydantic model, list of models, dict or None)."""
    if as_json:
        print(json.dumps(_jsonable(result), indent=2))
    elif isinstance(result, list):
        _table(result)
    elif isinstance(result, IssueDetail):
        _detail(result)
    elif isinstance(result, Claim):
        out.print(f"claimed [bold]{result.issue.id}[/] as {result.worker}: token {result.token}, "
                  f"lease until {result.lease_expires_at:%H:%M:%S} UTC")
    elif isinstance(result, Issue):
        out.print(f"[bold]{result.id}[/] {result.status.value}: {escape(result.title)}")
    elif isinstance(result, Note):
        out.print(f"noted on {result.issue_id} (note {result.id})")
    elif isinstance(result, BaseModel):
        out.print(result.model_dump(mode="json"))
    elif result is not None:
        out.print(result)


def emit_error(payload: dict[str, Any], as_json: bool) -> None:
    """Print an error: JSON object on stdout with ``--json``, one line on stderr otherwise."""
    if as_json:
        print(json.dumps({"error": payload}, indent=2))
    else:
        err.print(f"[red]error[/] ({payload['code']}): {payload['message']}")


def _jsonable(result: Any) -> Any:
    if isinstance(result, BaseModel):
        return result.model_dump(mode="json")
    if isinstance(result, list):
        return [_jsonable(item) for item in result]
    return result


def _table(rows: list[Any]) -> None:
    if not rows:
        err.print("(none)")
    elif isinstance(rows[0], Event):
        _events(rows)
    else:
        _issues(rows)


def _issues(issues: list[Issue]) -> None:
    table = Table("id", "P", "status", "type", "assignee", "title", "metadata")
    for i in issues:
        meta = ", ".join(f"{k}={v}" for k, v in i.metadata.items())
        table.add_row(i.id, str(i.priority), i.status.value, i.type.value, escape(i.assignee or ""), escape(i.title), escape(meta))
    out.print(table)


def _events(events: list[Event]) -> None:
    table = Table("#", "time (UTC)", "issue", "event", "actor", "data")
    for e in events:
        table.add_row(str(e.id), f"{e.created_at:%H:%M:%S}", e.issue_id, e.kind.value, escape(e.actor), escape(json.dumps(e.data)[:120]))
    out.print(table)


def _detail(detail: IssueDetail) -> None:
    i = detail.issue
    out.print(f"[bold]{i.id}[/] {escape(f'[{i.status.value}]')} P{i.priority} {i.type.value}: {escape(i.title)}")
    for label, value in (
        ("assignee", i.assignee), ("labels", ", ".join(i.labels)), ("metadata", json.dumps(i.metadata) if i.metadata else ""),
        ("description", i.description), ("acceptance", i.acceptance_criteria), ("blocked because", i.blocking_notes),
        ("close reason", i.close_reason), ("attempts", f"{i.attempts}/{i.max_attempts}"),
    ):
        if value:
            out.print(f"  {label}: {escape(value)}")
    for d in detail.dependencies:
        out.print(f"  depends on {d.depends_on} ({d.type.value})")
    for d in detail.dependents:
        out.print(f"  {d.issue_id} depends on this ({d.type.value})")
    for a in detail.attempts:
        out.print(f"  attempt {a.number}: {escape(a.worker)} token {a.token} -> {a.outcome or 'running'} {escape(a.error or '')}")
    for n in detail.notes:
        out.print(f"  [dim]{n.created_at:%Y-%m-%d %H:%M:%S}[/] {escape(n.author)}: {escape(n.body)}")
