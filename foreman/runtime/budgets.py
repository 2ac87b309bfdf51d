"""Budgets: how much model use an issue or a run may spend, and what it has spent so far (issue 12).

Spend is read from the event log, never from a worker's memory, so workers in other processes,
earlier attempts and ``--resume`` all count. Each model-call session event (``foreman.runtime.model_calls``)
carries the call's usage (tokens, ``cost_usd``); :class:`UsageMeter` sums them, reading only events
it has not seen yet (a run-wide meter costs one small query per tick, not a scan of the whole log).

An issue's budget lives in its ``metadata["budget"]`` (task file, ``foreman issues create --budget``)
over its worker plan's ``fleet.budget`` default, key by key. Its limits hold for the issue as a
whole, summed over every attempt (a relaunched issue does not start from zero again), and its
``max_seconds`` counts the seconds of its attempts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from foreman.issues import Event, EventKind, Issue, IssueStore
from foreman.issues.models import Attempt
from foreman.runtime.model_calls import call_usage, is_model_call

BUDGET = "budget"  # issue metadata key: the issue's own limits (a dict of Budget's fields)
CALL_TIMEOUT = "call_timeout"  # issue metadata key: seconds one model call of its sessions may take
DEFAULT_CALL_TIMEOUT = 120.0  # seconds; seed 000's "120-second default timeout"


class BudgetError(ValueError):
    """A budget that cannot be used (unknown key, not a positive number); the message names the key."""


class Budget(BaseModel):
    """Limits on the model use of one issue (every attempt together) or of a run; None: no limit.

    Attributes:
        max_tokens: input plus output tokens.
        max_cost_usd: USD, as the providers report it (``Usage.cost_usd``; 0 for local models).
        max_seconds: seconds of work (attempts' durations, the running one included).
        max_model_calls: provider calls.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_tokens: int | None = Field(None, gt=0)
    max_cost_usd: float | None = Field(None, gt=0)
    max_seconds: float | None = Field(None, gt=0)
    max_model_calls: int | None = Field(None, gt=0)

    @classmethod
    def parse(cls, given: dict[str, Any], *, where: str) -> Budget:
        """Validate a budget dict; ``where`` names its origin in the error.

        Raises:
            BudgetError: an unknown key or a value that is not a positive number.
        """
        try:
            return cls.model_validate(given)
        except ValidationError as exc:
            first = exc.errors()[0]
            key = ".".join(str(part) for part in first["loc"]) or "budget"
            problem = "unknown key" if first["type"] == "extra_forbidden" else first["msg"]
            raise BudgetError(f"{where}: budget key {key}: {problem} "
                              f"(keys: {', '.join(cls.model_fields)})") from None

    def over(self, other: Budget) -> Budget:
        """This budget with ``other``'s limits filled in where this one sets none (an issue over its plan)."""
        return Budget(**(other.model_dump(exclude_none=True) | self.model_dump(exclude_none=True)))

    @property
    def empty(self) -> bool:
        """True when no limit is set."""
        return not self.model_dump(exclude_none=True)


@dataclass(frozen=True)
class Usage:
    """Model usage: calls, input and output tokens, cost in USD."""

    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0

    @property
    def tokens(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.calls + other.calls, self.input_tokens + other.input_tokens,
                     self.output_tokens + other.output_tokens, self.cost_usd + other.cost_usd)

    def plus(self, usage: dict[str, Any]) -> Usage:
        """This usage with one call of ``usage`` (a model-call event's usage dict) added."""
        input_tokens, output_tokens, cost_usd = call_usage(usage)
        return Usage(self.calls + 1, self.input_tokens + input_tokens, self.output_tokens + output_tokens,
                     self.cost_usd + cost_usd)


def exceeded(budget: Budget, used: Usage, seconds: float = 0.0) -> str | None:
    """The first limit of ``budget`` that ``used`` (and ``seconds`` of work) reached, as a reason
    (``"max_tokens 5000 reached (5210 tokens used)"``); None if none."""
    reached = [
        (budget.max_tokens, used.tokens, "max_tokens", "tokens"),
        (budget.max_cost_usd, used.cost_usd, "max_cost_usd", "USD"),
        (budget.max_model_calls, used.calls, "max_model_calls", "model calls"),
        (budget.max_seconds, seconds, "max_seconds", "seconds of work"),
    ]
    for limit, value, name, unit in reached:
        if limit is not None and value >= limit:
            return f"{name} {limit:g} reached ({value:g} {unit} used)"
    return None


def model_calls(events: Iterable[Event], since: float = 0.0) -> Usage:
    """The usage of the model-call session events (``foreman.runtime.model_calls.is_model_call``) among
    ``events`` logged at or after ``since`` (the summary and the run budget fold the whole log; the
    dashboard each batch of new events)."""
    used = Usage()
    for event in events:
        if (event.kind == EventKind.SESSION and is_model_call(event.data)
                and event.created_at.timestamp() >= since):
            used = used.plus(event.data.get("usage") or {})
    return used


class UsageMeter:
    """Running usage of one issue (``issue_id``), of the run's foreman (``foreman.issues.fleet_records.RUN_EVENTS``), or of
    everything (None), logged at or after ``since`` (epoch seconds); :meth:`read` adds only new events."""

    def __init__(self, store: IssueStore, issue_id: str | None = None, since: float = 0.0) -> None:
        self.store, self.issue_id, self.since = store, issue_id, since
        self.used = Usage()
        self._after = 0

    def read(self) -> Usage:
        """Add the session events logged since the last read; returns the total."""
        events = self.store.events(self.issue_id, kinds=[EventKind.SESSION], after=self._after)
        if events:
            self._after = events[-1].id
            self.used += model_calls(events, self.since)
        return self.used


def model_usage(store: IssueStore, since: float = 0.0) -> Usage:
    """Usage of every session (workers and foreman) logged at or after ``since`` (epoch seconds)."""
    return UsageMeter(store, since=since).read()


def worked_seconds(attempts: list[Attempt], now: float) -> float:
    """Seconds of work over ``attempts`` (a running attempt counts until ``now``, epoch seconds)."""
    ends = [(a.started_at.timestamp(), a.ended_at.timestamp() if a.ended_at else now) for a in attempts]
    return sum(max(0.0, end - start) for start, end in ends)


def issue_budget(issue: Issue, default: Budget) -> Budget:
    """The issue's ``metadata["budget"]`` over ``default`` (its plan's ``fleet.budget``).

    Raises:
        BudgetError: the stored budget is not a valid one.
    """
    return Budget.parse(issue.metadata.get(BUDGET) or {}, where=issue.id).over(default)


def call_timeout(issue: Issue | None, default: float) -> float:
    """Seconds one model call may take: the issue's ``metadata["call_timeout"]``, else ``default``."""
    given = issue.metadata.get(CALL_TIMEOUT) if issue is not None else None
    return float(given) if isinstance(given, int | float) and given > 0 else default


__all__ = ["BUDGET", "CALL_TIMEOUT", "DEFAULT_CALL_TIMEOUT", "Budget", "BudgetError", "Usage",
           "UsageMeter", "call_timeout", "exceeded", "issue_budget", "model_calls", "model_usage",
           "worked_seconds"]
