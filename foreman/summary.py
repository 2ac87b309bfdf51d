"""The end-of-run summary: issues, notes, files changed, model calls, tokens, cost, time."""

from __future__ import annotations

import subprocess
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from foreman.fleet import FleetReport
from foreman.issues import EventKind, IssueStore
from workers.workspace import BRANCH_PREFIX


def files_changed(root: Path, issue_id: str) -> list[str]:
    """Files the issue's branch changed relative to where it started (empty outside git)."""
    done = subprocess.run(["git", "diff", "--name-only", f"HEAD...{BRANCH_PREFIX}{issue_id}"], cwd=root,
                          capture_output=True, text=True)
    return done.stdout.split() if done.returncode == 0 else []


def worker_usage(store: IssueStore) -> tuple[int, int, int, float]:
    """(model calls, input tokens, output tokens, USD) of every worker session, from the event log.

    Read from the database so workers in other processes count too.
    """
    calls = tokens_in = tokens_out = 0
    cost = 0.0
    for event in store.events(kinds=[EventKind.SESSION]):
        if event.data.get("event") == "provider:response":
            usage = event.data.get("usage") or {}
            calls += 1
            tokens_in += usage.get("input_tokens") or 0
            tokens_out += usage.get("output_tokens") or 0
            cost += usage.get("cost_usd") or 0.0
    return calls, tokens_in, tokens_out, cost


def print_summary(report: FleetReport, store: IssueStore, root: Path, console: Console) -> None:
    """Print what the run did."""
    table = Table("issue", "title", "status", "worker", "notes", "files changed")
    for issue in report.issues:
        detail = store.show(issue.id)
        table.add_row(issue.id, escape(issue.title), issue.status.value, issue.assignee or "",
                      str(len(detail.notes)), escape(", ".join(files_changed(root, issue.id))))
    console.print(table)
    calls, tokens_in, tokens_out, cost = worker_usage(store)
    foreman = report.foreman
    calls, tokens_in, tokens_out = calls + foreman.model_calls, tokens_in + foreman.input_tokens, tokens_out + foreman.output_tokens
    cost += foreman.cost_usd
    console.print(f"provider: {report.provider}   model calls: {calls}   tokens: {tokens_in} in / {tokens_out} out   "
                  f"cost: ${cost:.4f}   wall time: {report.seconds:.1f} s")
    for issue in report.state.waiting_for_human:
        console.print(f"[yellow]waiting for a human[/]: {issue.id} {escape(issue.title)} ({issue.status.value})")
    if report.interrupted:
        console.print("[yellow]stopped early[/]: run again with --resume to finish")
    elif report.state.over:
        closed = report.state.counts["closed"]
        console.print(f"[green]run over[/]: {closed} closed, {len(report.state.waiting_for_human)} waiting for a human")
