"""What each dashboard page shows, computed from a :class:`~foreman.dashboard.read_model.Snapshot`
(and, for one issue, from its event log). No HTML here: the templates render these values.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from foreman.dashboard.read_model import Snapshot
from foreman.issues import Event, EventKind, Issue, Status
from foreman.issues.fleet_records import WorkerStatus
from foreman.runtime.budgets import Usage
from foreman.runtime.model_calls import MODEL_CALL_EVENTS

ESTIMATE_KEY = "estimate_minutes"  #: issue metadata: the issue's expected work time in minutes (optional)
PAGE_SIZE = 50  # issues per page of the issues table
#: still to do (dead letters wait for a human)
UNFINISHED = (Status.OPEN, Status.IN_PROGRESS, Status.IN_REVIEW, Status.BLOCKED)
SORTS: dict[str, Any] = {  #: issues-table columns one can sort by, and each one's key
    "created": lambda i: (i.created_at, i.id),
    "id": lambda i: i.id,
    "title": lambda i: i.title.casefold(),
    "status": lambda i: i.status.value,
    "priority": lambda i: (i.priority, i.created_at),
    "type": lambda i: i.type.value,
    "worker_type": lambda i: str(i.metadata.get("worker_type") or ""),
    "assignee": lambda i: i.assignee or "",
    "attempts": lambda i: i.attempts,
    "updated": lambda i: i.updated_at,
}


@dataclass(frozen=True)
class Overview:
    """The overview page's numbers. Seconds for times; ``remaining`` None when it cannot be told."""

    counts: dict[str, int]
    total: int
    percent_done: float
    elapsed: float | None
    remaining: float | None
    remaining_basis: str
    usage: Usage
    run_over: bool
    stop_request: dict | None


def overview(snapshot: Snapshot) -> Overview:
    """Counts by status, % done, elapsed and remaining time, model usage (issue 10)."""
    counts = Counter(issue.status.value for issue in snapshot.issues.values())
    total = len(snapshot.issues)
    elapsed = snapshot.now - snapshot.started_at if snapshot.started_at else None
    unfinished = [i for i in snapshot.issues.values() if i.status in UNFINISHED]
    workers = sum(w.state == "working" for w in snapshot.workers)
    remaining, basis = remaining_estimate(unfinished, counts[Status.CLOSED.value], elapsed, workers)
    return Overview(counts={s.value: counts[s.value] for s in Status}, total=total,
                    percent_done=100.0 * counts[Status.CLOSED.value] / total if total else 0.0,
                    elapsed=elapsed, remaining=remaining, remaining_basis=basis, usage=snapshot.usage,
                    run_over=snapshot.run_over, stop_request=snapshot.stop_request)


def remaining_estimate(unfinished: list[Issue], closed: int, elapsed: float | None,
                       workers: int) -> tuple[float | None, str]:
    """Seconds of work left and how that was estimated.

    From the issues' ``metadata.estimate_minutes`` when any unfinished issue has one (issues without
    one count as the mean of those with one), spread over the working workers (at least one);
    otherwise from the run's pace: elapsed seconds per closed issue times the issues left.
    """
    if not unfinished:
        return 0.0, "nothing left"
    given = [float(e) for i in unfinished if _is_number(e := i.metadata.get(ESTIMATE_KEY))]
    if given:
        minutes = sum(given) + (len(unfinished) - len(given)) * sum(given) / len(given)
        return minutes * 60.0 / max(1, workers), f"from the estimates of {len(given)} issues"
    if closed and elapsed:
        return elapsed / closed * len(unfinished), "from the average time per closed issue"
    return None, "unknown until the first issue closes"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0


@dataclass(frozen=True)
class IssueQuery:
    """The issues table's filters, sort and page, read from the query string (unknown values fall back to defaults)."""

    status: str = ""
    worker_type: str = ""
    label: str = ""
    q: str = ""
    sort: str = "created"
    desc: bool = False
    page: int = 1

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> IssueQuery:
        """Parse ``?status=&worker_type=&label=&q=&sort=&desc=1&page=`` leniently."""
        page = params.get("page", "1")
        return cls(status=params.get("status", "") if params.get("status") in {s.value for s in Status} else "",
                   worker_type=params.get("worker_type", "")[:100], label=params.get("label", "")[:100],
                   q=params.get("q", "")[:200], sort=params.get("sort") if params.get("sort") in SORTS else "created",
                   desc=params.get("desc") == "1", page=int(page) if page.isdigit() and int(page) > 0 else 1)

    def params(self, **changes: Any) -> dict[str, str]:
        """The query string values of this query with ``changes`` (for links), empty values left out."""
        values = {"status": self.status, "worker_type": self.worker_type, "label": self.label, "q": self.q,
                  "sort": self.sort, "desc": "1" if self.desc else "", "page": str(self.page)} | changes
        return {k: str(v) for k, v in values.items() if v}

    def matches(self, issue: Issue) -> bool:
        """True when ``issue`` passes every filter (text: case-insensitive in id, title or description)."""
        needle = self.q.casefold()
        return ((not self.status or issue.status.value == self.status)
                and (not self.worker_type or issue.metadata.get("worker_type") == self.worker_type)
                and (not self.label or self.label in issue.labels)
                and (not needle or needle in issue.id or needle in issue.title.casefold()
                     or needle in issue.description.casefold()))


@dataclass(frozen=True)
class IssuePage:
    """One page of the issues table."""

    rows: list[Issue]
    matching: int
    pages: int
    query: IssueQuery
    worker_types: list[str]
    labels: list[str]


def issue_page(issues: Iterable[Issue], query: IssueQuery) -> IssuePage:
    """Filter, sort and cut one page of ``issues``; also the worker types and labels to filter by."""
    issues = list(issues)
    found = sorted((i for i in issues if query.matches(i)), key=SORTS[query.sort], reverse=query.desc)
    pages = max(1, -(-len(found) // PAGE_SIZE))
    page = min(query.page, pages)
    start = (page - 1) * PAGE_SIZE
    types = sorted({str(i.metadata["worker_type"]) for i in issues if i.metadata.get("worker_type")})
    labels = sorted({label for i in issues for label in i.labels})
    return IssuePage(rows=found[start:start + PAGE_SIZE], matching=len(found), pages=pages,
                     query=IssueQuery(**{**query.__dict__, "page": page}), worker_types=types, labels=labels)


@dataclass(frozen=True)
class WorkerRow:
    """One worker as the workers page shows it.

    ``look`` is ``dead`` when its heartbeat is older than its lease TTL and it did not report
    ``stopped``: its process is gone or hung (issue 10: an idle worker and a dead one look different).
    """

    status: WorkerStatus
    heartbeat_age: float  #: seconds since its row was last written
    ttl: float  #: seconds: the lease TTL of its worker type
    look: str  #: working, idle, stopped, dead, or its own state word (backing off, planning, ...)


def worker_rows(snapshot: Snapshot, ttls: Mapping[str, float], default_ttl: float) -> list[WorkerRow]:
    """Rows of the workers page; ``ttls`` maps worker type -> lease TTL in seconds."""
    rows = []
    for worker in snapshot.workers:
        age = max(0.0, snapshot.now - worker.heartbeat_at.timestamp()) if worker.heartbeat_at else float("inf")
        ttl = ttls.get(worker.worker_type, default_ttl)
        look = "dead" if worker.state != "stopped" and age > ttl else worker.state
        rows.append(WorkerRow(status=worker, heartbeat_age=age, ttl=ttl, look=look))
    return rows


@dataclass(frozen=True)
class Step:
    """One line of an issue's readable log: a model reply, a tool call, or a change of the issue."""

    event: Event
    kind: str  #: model, tool, error, change
    title: str
    body: str = ""


def transcript(events: list[Event]) -> list[Step]:
    """The issue's event log as a readable transcript, oldest first (every text is shown escaped)."""
    return [_step(e) for e in events]


def _step(event: Event) -> Step:
    data = event.data
    if event.kind != EventKind.SESSION:
        change = f"{data['from']} -> {data['to']}" if "from" in data and "to" in data else ""
        rest = {k: v for k, v in data.items() if k not in ("from", "to")}
        return Step(event, "change", f"{event.kind.value} {change}".strip(), _json(rest) if rest else "")
    if data.get("event") in MODEL_CALL_EVENTS:
        usage = data.get("usage") or {}
        calls = ", ".join(f"{c.get('name')}({_json(c.get('arguments'))})" for c in data.get("tool_calls") or [])
        tokens = f"{usage.get('input_tokens') or 0}/{usage.get('output_tokens') or 0}"
        title = f"model {data.get('model') or ''}: {tokens} tokens"
        return Step(event, "model", title, "\n".join(filter(None, [data.get("text"), calls and f"calls: {calls}"])))
    if data.get("event", "").startswith("tool:"):
        failed = data.get("event") == "tool:error" or data.get("error")
        body = f"arguments: {_json(data.get('arguments'))}\nresult: {data.get('result') or data.get('error') or ''}"
        return Step(event, "error" if failed else "tool", f"tool {data.get('tool')}", body)
    title = f"{data.get('event')} {data.get('provider') or ''}".strip()
    return Step(event, "error", title, str(data.get("error") or ""))


def _json(value: Any) -> str:
    return json.dumps(value, default=str, ensure_ascii=False)
