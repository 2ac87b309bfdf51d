"""How far the work is: what ``foreman status`` shows (seed 004's "overall progress, remaining hours").

Everything is read from the database (issues, the stored run, the event log), so it is the same
whether the fleet runs now, ran in other processes, or finished long ago.
"""

from __future__ import annotations

from collections import Counter

from pydantic import BaseModel

from foreman.issues import IssueStore, Status
from foreman.runtime.budgets import model_usage
from foreman.runtime.tasks import ESTIMATE
from foreman.summary import run_started

NO_WORKER_TYPE = "(none)"  #: the worker-type row of issues that name none


class Spend(BaseModel):
    """Model usage so far and the run's limits on it (USD, tokens); a limit is None when none is set."""

    model_calls: int
    input_tokens: int
    output_tokens: int
    cost_usd: float
    budget_usd: float | None = None
    budget_tokens: int | None = None


class Progress(BaseModel):
    """The state of the work at ``now`` (epoch seconds).

    ``remaining_estimate_hours`` sums ``estimate_hours`` of the issues not closed (None when none
    has one); ``remaining_seconds_at_pace`` is the issues not closed times the run's seconds per
    closed issue so far (None before the first close).
    """

    total: int
    counts: dict[str, int]  #: issues per status (every status, zeros included)
    done_percent: float  #: closed issues / all issues * 100 (0 with no issue)
    by_worker_type: dict[str, dict[str, int]]  #: worker type -> status -> issues (statuses with issues only)
    started_at: float | None  #: epoch seconds: the stored run's start, else the oldest issue's creation
    elapsed_seconds: float  #: from ``started_at`` to now, or to the last close once every issue is closed
    remaining_estimate_hours: float | None
    remaining_seconds_at_pace: float | None
    spend: Spend


def spend_against_budget(store: IssueStore, since: float) -> Spend:
    """Model calls, tokens and USD used since ``since`` (epoch seconds), with the run's budgets.

    Issue 12 item 4: the budget limits (``--budget-usd``, ``--budget-tokens``) are filled in here by
    the budget enforcement; until then both limits are None.
    """
    used = model_usage(store, since)
    return Spend(model_calls=used.calls, input_tokens=used.input_tokens, output_tokens=used.output_tokens,
                 cost_usd=used.cost_usd)


def progress(store: IssueStore, now: float) -> Progress:
    """Counts, percent done, per worker type, elapsed time, remaining estimates and spend at ``now``."""
    issues = store.list()
    counts = {status.value: 0 for status in Status} | dict(Counter(i.status.value for i in issues))
    by_type: dict[str, Counter] = {}
    for issue in issues:
        kind = str(issue.metadata.get("worker_type") or NO_WORKER_TYPE)
        by_type.setdefault(kind, Counter())[issue.status.value] += 1
    started = run_started(store) or (min(i.created_at.timestamp() for i in issues) if issues else None)
    left = [i for i in issues if i.status != Status.CLOSED]
    end = now if left else max(i.closed_at.timestamp() for i in issues)  # all closed: the clock stops
    elapsed = max(0.0, end - started) if started else 0.0
    estimates = [float(i.metadata[ESTIMATE]) for i in left if isinstance(i.metadata.get(ESTIMATE), int | float)]
    closed = counts[Status.CLOSED.value]
    return Progress(
        total=len(issues), counts=counts, done_percent=round(100 * closed / len(issues), 1) if issues else 0.0,
        by_worker_type={kind: dict(c) for kind, c in sorted(by_type.items())}, started_at=started,
        elapsed_seconds=round(elapsed, 1), remaining_estimate_hours=sum(estimates) if estimates else None,
        remaining_seconds_at_pace=round(elapsed / closed * len(left), 1) if closed else None,
        spend=spend_against_budget(store, started or 0.0),
    )
