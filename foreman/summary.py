"""The end-of-run summary: issues, notes, files changed, each worker's report, model calls, tokens, cost, time.

Everything is read from the database, so workers in other processes (``--processes``, ``foreman
worker``) and the foreman's own model calls count the same, and a run finished with ``--resume``
counts what every earlier part of it used.
"""

from __future__ import annotations

import subprocess
from collections import Counter
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from foreman.fleet import RUN, FleetReport
from foreman.issues import EventKind, IssueStore, Status
from foreman.issues.models import IssueDetail
from foreman.merge_queue import MERGE
from foreman.runtime.budgets import Budget, Usage, model_usage
from workers.review import BASE_COMMIT


def run_started(store: IssueStore) -> float:
    """When the stored run began (epoch seconds; kept across ``--resume``), 0 when none is stored."""
    return float((store.get_state(RUN) or {}).get("started_at") or 0.0)


def worker_lines(store: IssueStore, since: float) -> list[str]:
    """One line per worker (and the foreman) that reported at or after ``since``, from the ``workers`` table.

    Lines, not a table: they wrap on an 80-column terminal instead of cutting names and numbers.
    """
    verdicts = Counter(e.actor for e in store.events(kinds=[EventKind.VERDICT]) if e.created_at.timestamp() >= since)
    return [f"{escape(w.name)} ({escape(w.worker_type)}, {escape(w.host)}:{w.pid}): {escape(w.state)}, "
            + (f"reviewed {verdicts[w.name]}, " if verdicts[w.name] else "")
            + f"closed {w.closed}, blocked {w.blocked}, failed {w.failed}, {w.model_calls} model calls, "
            f"{w.input_tokens}/{w.output_tokens} tokens" for w in store.worker_list(since=since)]


def verification(detail: IssueDetail) -> tuple[str, str, str]:
    """(checks, verdict, merged) of one issue for the summary, from its evidence and merge record.

    checks: ``2/2`` passing in the latest worktree run (``-``: none); verdict: the latest ``PASS`` or
    ``FAIL`` (``-``: none); merged: ``yes``, ``via fm-x``, ``conflict: fm-x``, ``failed: fm-x``, or empty.
    """
    issue = detail.issue
    runs = {e.data["command"]: e.data for e in detail.evidence
            if e.kind == EventKind.CHECKED and e.data.get("where") == "worktree"}
    passing = sum(bool(runs.get(c, {}).get("passed")) for c in issue.checks)
    checks = f"{passing}/{len(issue.checks)}" if issue.checks else "-"
    verdicts = [e.data["verdict"] for e in detail.evidence if e.kind == EventKind.VERDICT]
    record = issue.metadata.get(MERGE) or {}
    state = record.get("state", "")
    merged = {"merged": "yes", "skipped": "no branch"}.get(state, f"{state}: {record.get('merge_issue', '')}")
    if state == "merged" and record.get("detail", "").startswith("through "):
        merged = "via " + record["detail"].removeprefix("through ")
    return checks, verdicts[-1] if verdicts else "-", merged if state else ""


def integration_stat(root: Path, base: str | None, branch: str) -> str:
    """``git diff --stat base...branch``: what the integration branch holds (empty outside git or before a merge)."""
    done = subprocess.run(["git", "diff", "--stat", f"{base or 'HEAD'}...{branch}"], cwd=root, capture_output=True, text=True)
    return done.stdout.rstrip() if done.returncode == 0 else ""


def print_summary(report: FleetReport, store: IssueStore, root: Path, console: Console) -> None:
    """Print what the run did."""
    table = Table("issue", "title", "status", "worker", "checks", "verdict", "merged")
    for issue in report.issues:
        cells = verification(store.show(issue.id))
        table.add_row(issue.id, escape(issue.title), issue.status.value, escape(issue.assignee or ""), *map(escape, cells))
    console.print(table)
    stat = integration_stat(root, store.get_state(BASE_COMMIT), report.into)
    if stat:
        console.print(f"{escape(report.into)} (git diff --stat against the run's base):")
        console.print(escape(stat), highlight=False)
    for line in worker_lines(store, report.started_at):
        console.print(line)
    used = model_usage(store, run_started(store))
    console.print(f"provider: {report.provider}   model calls: {used.calls}   tokens: {used.input_tokens} in / "
                  f"{used.output_tokens} out   cost: ${used.cost_usd:.4f}   wall time: {report.seconds:.1f} s")
    if not report.budget.empty:
        console.print(f"run budget: {budget_line(report.budget, used)}")
    for issue in report.state.waiting_for_human:
        console.print(f"[yellow]waiting for a human[/]: {issue.id} {escape(issue.title)} ({issue.status.value})")
    if report.fault:
        console.print(f"[red]run stopped on a fault[/]: {escape(report.fault)}; run again with --resume to finish")
    elif report.budget_stop:
        console.print(f"[yellow]stopped at the run budget[/]: {escape(report.budget_stop)}; "
                      "raise it and run again with --resume to finish")
    elif report.interrupted:
        console.print("[yellow]stopped early[/]: run again with --resume to finish")
    elif report.state.over:
        console.print(f"[green]run over[/]: {outcome_line(report, store)}")


def budget_line(budget: Budget, used: Usage) -> str:
    """``$0.0123 of $1.00, 12345 of 50000 tokens``: spend against each limit the budget sets."""
    parts = []
    if budget.max_cost_usd is not None:
        parts.append(f"${used.cost_usd:.4f} of ${budget.max_cost_usd:g}")
    if budget.max_tokens is not None:
        parts.append(f"{used.tokens} of {budget.max_tokens} tokens")
    if budget.max_model_calls is not None:
        parts.append(f"{used.calls} of {budget.max_model_calls} model calls")
    return ", ".join(parts)


def outcome_line(report: FleetReport, store: IssueStore) -> str:
    """``N verified and merged, N closed not merged, N rejected, N waiting for a human``."""
    closed = [i for i in report.issues if i.status == Status.CLOSED]
    merged = sum((i.metadata.get(MERGE) or {}).get("state") == "merged" for i in closed)
    rejected = sum(bool(store.events(i.id, kinds=[EventKind.REJECTED])) for i in report.issues)
    verified = "verified and merged" if report.validated else "checked and merged"
    return (f"{merged} {verified}, {len(closed) - merged} closed not merged, {rejected} rejected at least once, "
            f"{len(report.state.waiting_for_human)} waiting for a human")
