"""The issue database's data model (pydantic), in beads-compatible terms.

Times are timezone-aware UTC datetimes in Python and ISO 8601 strings in JSON; the store keeps
them as seconds since the epoch. Status transitions live in :mod:`foreman.issues.states`.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints


class Status(StrEnum):
    """Where an issue is in its life; see docs/state-machine.md for who moves it."""

    OPEN = "open"  #: waiting in the queue (ready when no open blocker or child remains)
    IN_PROGRESS = "in_progress"  #: claimed by a worker holding a lease
    IN_REVIEW = "in_review"  #: its checks passed; waits for (or is held by) a validator's review
    BLOCKED = "blocked"  #: waits for input named in its blocking notes (the foreman or a human unblocks it)
    CLOSED = "closed"  #: done
    DEAD_LETTER = "dead_letter"  #: failed its last allowed attempt; needs a human


class IssueType(StrEnum):
    """Kinds of work (beads' set plus research)."""

    TASK = "task"
    BUG = "bug"
    FEATURE = "feature"
    RESEARCH = "research"
    EPIC = "epic"
    CHORE = "chore"


class DependencyType(StrEnum):
    """Edge kinds. Only ``blocks`` and ``parent-child`` gate readiness."""

    BLOCKS = "blocks"  #: the issue waits until ``depends_on`` is closed
    PARENT_CHILD = "parent-child"  #: edge child -> parent; the parent waits until all its children are closed
    RELATED = "related"  #: informational
    DISCOVERED_FROM = "discovered-from"  #: the issue was found while working on ``depends_on``

    @property
    def gates(self) -> bool:
        """True when the edge keeps an issue out of the ready queue."""
        return self in (DependencyType.BLOCKS, DependencyType.PARENT_CHILD)


class EventKind(StrEnum):
    """Event types; each is written in the same transaction as the change it records."""

    CREATED = "created"  #: -> open (or -> blocked when created blocked)
    UPDATED = "updated"  #: fields changed, status unchanged
    CLAIMED = "claimed"  #: open -> in_progress
    LEASE_RENEWED = "lease_renewed"  #: in_progress -> in_progress (heartbeat)
    LEASE_EXPIRED = "lease_expired"  #: in_progress -> open | dead_letter
    RELEASED = "released"  #: in_progress -> open
    NOTED = "noted"  #: a note was appended
    BLOCKED = "blocked"  #: in_progress | open -> blocked
    UNBLOCKED = "unblocked"  #: blocked -> open
    CLOSED = "closed"  #: in_progress | open | blocked -> closed
    REOPENED = "reopened"  #: closed | dead_letter -> open
    DEPENDENCY_ADDED = "dependency_added"
    DEPENDENCY_REMOVED = "dependency_removed"
    FAILED = "failed"  #: in_progress -> open | dead_letter (the worker reported an error)
    BUDGET_EXCEEDED = "budget_exceeded"  #: in_progress -> dead_letter (a budget ran out; attempt outcome `budget`)
    SUBMITTED = "submitted"  #: in_progress -> in_review (the issue's checks passed at close)
    REVIEW_CLAIMED = "review_claimed"  #: in_review -> in_review (a validator took the review lease)
    REVIEW_FAILED = "review_failed"  #: in_review -> in_review (the review ended without a verdict)
    REVIEW_EXPIRED = "review_expired"  #: in_review -> in_review (the validator's lease ran out)
    REJECTED = "rejected"  #: in_review -> open | dead_letter (verdict FAIL, or no verdict after every review)
    CHECKED = "checked"  #: evidence: one run of one check (command, exit code, seconds, output tail, commit)
    VERDICT = "verdict"  #: evidence: a validator's verdict (PASS/FAIL, critical issues, recommendations)
    SESSION = "session"  #: what an agent did (provider call, tool call), recorded by the fleet
    STOP_REQUESTED = "stop_requested"  #: run-level: an operator asked the run to stop (graceful or emergency)


Check = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
"""One check: a shell command run with ``bash -c`` in the issue's worktree; exit 0 passes (issue 8)."""


def from_epoch(seconds: float | None) -> datetime | None:
    """Seconds since the epoch -> aware UTC datetime (``None`` stays ``None``)."""
    return None if seconds is None else datetime.fromtimestamp(seconds, tz=timezone.utc)


class Note(BaseModel):
    """An append-only note on an issue."""

    id: int
    issue_id: str
    author: str
    body: str
    created_at: datetime


class Dependency(BaseModel):
    """``issue_id`` depends on ``depends_on`` with kind ``type`` (for parent-child: child -> parent)."""

    issue_id: str
    depends_on: str
    type: DependencyType
    created_at: datetime


class Attempt(BaseModel):
    """One claim of an issue: who, when, and how it ended (``outcome`` is None while running)."""

    issue_id: str
    number: int
    worker: str
    token: int
    started_at: datetime
    ended_at: datetime | None = None
    outcome: str | None = None  #: closed, blocked, released, failed, lease_expired, rejected, budget
    error: str | None = None


class Event(BaseModel):
    """One row of the event log."""

    id: int
    issue_id: str
    kind: EventKind
    actor: str
    created_at: datetime
    data: dict[str, Any] = Field(default_factory=dict)


class Issue(BaseModel):
    """An issue as stored. ``fence`` is the fencing token of the latest claim (0 = never claimed)."""

    id: str
    title: str
    description: str = ""
    acceptance_criteria: str = ""
    type: IssueType = IssueType.TASK
    priority: int = Field(2, ge=0, le=4)
    labels: list[str] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)
    checks: list[str] = Field(default_factory=list)  #: shell commands that must exit 0 in the worktree to close
    status: Status = Status.OPEN
    assignee: str | None = None
    submitted_by: str | None = None  #: the builder whose work is in review
    blocking_notes: str | None = None
    close_reason: str | None = None
    fence: int = 0
    lease_expires_at: datetime | None = None
    attempts: int = 0
    reviews: int = 0  #: review claims of the current submission
    max_attempts: int = 3
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None = None

    #: a number given for a datetime field is seconds since the epoch (the store's times), never
    #: milliseconds as pydantic would guess past 2e10; it becomes a UTC datetime in pydantic's core
    model_config = ConfigDict(val_temporal_unit="seconds")

    @classmethod
    def from_row(cls, row: Any) -> Issue:
        """Build from a row of the ``issues`` table (``sqlite3.Row``, or PostgreSQL's dict row).

        The three JSON columns are decoded in one pass (the store wrote each as JSON text) and the
        times, seconds since the epoch, are left to pydantic. This runs twice per claim+close, so
        it skips what costs most (issue 13): ``dict(sqlite3.Row)`` looks every column up by name.
        """
        data = dict(row) if isinstance(row, dict) else dict(zip(row.keys(), row))
        decoded = _JSON.raw_decode(f"[{data['labels']},{data['metadata']},{data['checks']}]")[0]
        data["labels"], data["metadata"], data["checks"] = decoded
        return cls.model_validate(data)


_JSON = json.JSONDecoder()  # raw_decode: the text is the store's own JSON, no whitespace to strip


class IssueDetail(BaseModel):
    """An issue with its notes, dependencies (both directions) and attempts: what ``show`` prints."""

    issue: Issue
    notes: list[Note]
    dependencies: list[Dependency]
    dependents: list[Dependency]
    attempts: list[Attempt]
    evidence: list[Event] = Field(default_factory=list)  #: check runs and verdicts, oldest first


class Claim(BaseModel):
    """A won claim: the issue, the fencing token every later write must carry, and the lease end."""

    issue: Issue
    token: int
    worker: str
    lease_expires_at: datetime


class NewIssue(BaseModel):
    """Fields accepted by ``create`` (validated before any SQL runs)."""

    title: str = Field(min_length=1, max_length=500)
    description: str = ""
    acceptance_criteria: str = ""
    type: IssueType = IssueType.TASK
    priority: int = Field(2, ge=0, le=4)
    labels: list[str] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)
    checks: list[Check] = Field(default_factory=list)
    max_attempts: int = Field(3, ge=1)
    blocked_reason: str | None = None  #: create the issue already blocked, with this blocking note


class IssueFilter(BaseModel):
    """Ready-queue / claim filter: every given condition must hold.

    ``metadata`` compares top-level keys of the issue's metadata for equality (e.g.
    ``{"worker_type": "coding"}``); ``labels`` requires all of the given labels.
    """

    labels: list[str] = Field(default_factory=list)
    types: list[IssueType] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)


class IssueUpdate(BaseModel):
    """Fields ``update`` may change (status changes go through the state machine instead)."""

    title: str | None = Field(None, min_length=1, max_length=500)
    description: str | None = None
    acceptance_criteria: str | None = None
    type: IssueType | None = None
    priority: int | None = Field(None, ge=0, le=4)
    labels: list[str] | None = None
    metadata: dict[str, Any] | None = None  #: merged into the existing metadata (a ``None`` value removes a key)
    checks: list[Check] | None = None  #: replaces the issue's checks
