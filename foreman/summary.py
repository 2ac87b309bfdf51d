"""The end-of-run summary: issues, notes, files changed, each worker's report, model calls, tokens, cost, time.

Everything is read from the database, so workers in other processes (``--processes``, ``foreman
worker``) and the foreman's own model calls count the same, and a run finished with ``--resume``
counts what every earlier part of it used.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from foreman.fleet import RUN, FleetReport
from foreman.issues import EventKind, IssueStore
from workers.workspace import BRANCH_PREFIX


@dataclass(frozen=True)
class Usage:
    """Model usage: calls, input and output tokens, cost in USD."""

    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0


def files_changed(root: Path, issue_id: str) -> list[str]:
    """Files the issue's branch changed relative to where it started (empty outside git)."""
    done = subprocess.run(["git", "diff", "--name-only", f"HEAD...{BRANCH_PREFIX}{issue_id}"], cwd=root,
                          capture_output=True, text=True)
    return done.stdout.split() if done.returncode == 0 else []


def run_started(store: IssueStore) -> float:
    """When the stored run began (epoch seconds; kept across ``--resume``), 0 when none is stored."""
    return float((store.get_state(RUN) or {}).get("started_at") or 0.0)


def model_usage(store: IssueStore, since: float = 0.0) -> Usage:
    """Usage of every session (workers and foreman) logged at or after ``since`` (epoch seconds), from the event log."""
    calls = tokens_in = tokens_out = 0
    cost = 0.0
    for event in store.events(kinds=[EventKind.SESSION]):
        if event.data.get("event") == "provider:response" and event.created_at.timestamp() >= since:
            usage = event.data.get("usage") or {}
            calls += 1
            tokens_in += usage.get("input_tokens") or 0
            tokens_out += usage.get("output_tokens") or 0
            cost += usage.get("cost_usd") or 0.0
    return Usage(calls, tokens_in, tokens_out, cost)


def worker_lines(store: IssueStore, since: float) -> list[str]:
    """One line per worker (and the foreman) that reported at or after ``since``, from the ``workers`` table.

    Lines, not a table: they wrap on an 80-column terminal instead of cutting names and numbers.
    """
    return [f"{escape(w.name)} ({escape(w.worker_type)}, {escape(w.host)}:{w.pid}): {escape(w.state)}, "
            f"closed {w.closed}, blocked {w.blocked}, failed {w.failed}, {w.model_calls} model calls, "
            f"{w.input_tokens}/{w.output_tokens} tokens" for w in store.worker_list(since=since)]


def print_summary(report: FleetReport, store: IssueStore, root: Path, console: Console) -> None:
    """Print what the run did."""
    table = Table("issue", "title", "status", "worker", "notes", "files changed")
    for issue in report.issues:
        detail = store.show(issue.id)
        table.add_row(issue.id, escape(issue.title), issue.status.value, escape(issue.assignee or ""),
                      str(len(detail.notes)), escape(", ".join(files_changed(root, issue.id))))
    console.print(table)
    for line in worker_lines(store, report.started_at):
        console.print(line)
    used = model_usage(store, run_started(store))
    console.print(f"provider: {report.provider}   model calls: {used.calls}   tokens: {used.input_tokens} in / "
                  f"{used.output_tokens} out   cost: ${used.cost_usd:.4f}   wall time: {report.seconds:.1f} s")
    for issue in report.state.waiting_for_human:
        console.print(f"[yellow]waiting for a human[/]: {issue.id} {escape(issue.title)} ({issue.status.value})")
    if report.fault:
        console.print(f"[red]run stopped on a fault[/]: {escape(report.fault)}; run again with --resume to finish")
    elif report.interrupted:
        console.print("[yellow]stopped early[/]: run again with --resume to finish")
    elif report.state.over:
        closed = report.state.counts["closed"]
        console.print(f"[green]run over[/]: {closed} closed, {len(report.state.waiting_for_human)} waiting for a human")
