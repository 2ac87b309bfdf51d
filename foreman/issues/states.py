"""The one state machine of an issue's status, enforced here and drawn in docs/state-machine.md.

Each :class:`Transition` row names its action, the status it leaves and enters, who may take it,
whether it needs the claim's fencing token, and the event it writes. ``expire`` and ``fail`` go to
``dead_letter`` instead of ``open`` once the issue has used ``max_attempts`` claims; from
``in_review`` (verified work, issue 8) ``reject`` counts builder attempts the same way, while a
review that ends without a verdict (``fail``, ``expire``) counts the submission's reviews.
``over_budget`` (issue 12) goes to ``dead_letter`` at once: another attempt would spend the same budget.
``tests/unit/test_states.py`` checks this table against the table in the doc.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from foreman.issues.errors import IllegalTransition
from foreman.issues.models import EventKind, Status


class Action(StrEnum):
    """Operations that change (or renew) an issue's status."""

    CLAIM = "claim"
    HEARTBEAT = "heartbeat"
    RELEASE = "release"
    EXPIRE = "expire"
    FAIL = "fail"
    BLOCK = "block"
    UNBLOCK = "unblock"
    CLOSE = "close"
    REOPEN = "reopen"
    SUBMIT = "submit"
    REVIEW = "review"
    PASS = "pass"
    REJECT = "reject"
    OVER_BUDGET = "over_budget"
    REVOKE = "revoke"  #: an operator takes a claim back without its token (the dashboard's kill, issue 10)


@dataclass(frozen=True)
class Transition:
    """One edge of the state machine."""

    action: Action
    source: Status
    target: Status
    actor: str  #: who takes it: worker (holds the claim), validator (holds the review), operator, sweeper
    fenced: bool  #: True when the write must carry the current claim's fencing token
    event: EventKind
    exhausted: bool | None = None  #: for expire/fail: taken only when attempts >= max_attempts is this


O, P, R = Status.OPEN, Status.IN_PROGRESS, Status.IN_REVIEW
B, C, D = Status.BLOCKED, Status.CLOSED, Status.DEAD_LETTER
A, E = Action, EventKind

TRANSITIONS: tuple[Transition, ...] = (
    Transition(A.CLAIM, O, P, "worker", False, E.CLAIMED),
    Transition(A.HEARTBEAT, P, P, "worker", True, E.LEASE_RENEWED),
    Transition(A.RELEASE, P, O, "worker", True, E.RELEASED),
    Transition(A.EXPIRE, P, O, "sweeper", False, E.LEASE_EXPIRED, exhausted=False),
    Transition(A.EXPIRE, P, D, "sweeper", False, E.LEASE_EXPIRED, exhausted=True),
    Transition(A.FAIL, P, O, "worker", True, E.FAILED, exhausted=False),
    Transition(A.FAIL, P, D, "worker", True, E.FAILED, exhausted=True),
    Transition(A.OVER_BUDGET, P, D, "worker", True, E.BUDGET_EXCEEDED),
    Transition(A.BLOCK, P, B, "worker", True, E.BLOCKED),
    Transition(A.BLOCK, O, B, "operator", False, E.BLOCKED),
    Transition(A.UNBLOCK, B, O, "operator", False, E.UNBLOCKED),
    Transition(A.CLOSE, P, C, "worker", True, E.CLOSED),
    Transition(A.CLOSE, O, C, "operator", False, E.CLOSED),
    Transition(A.CLOSE, B, C, "operator", False, E.CLOSED),
    Transition(A.REOPEN, C, O, "operator", False, E.REOPENED),
    Transition(A.REOPEN, D, O, "operator", False, E.REOPENED),
    Transition(A.SUBMIT, P, R, "worker", True, E.SUBMITTED),
    Transition(A.REVIEW, R, R, "validator", False, E.REVIEW_CLAIMED),
    Transition(A.HEARTBEAT, R, R, "validator", True, E.LEASE_RENEWED),
    Transition(A.PASS, R, C, "validator", True, E.CLOSED),
    Transition(A.REJECT, R, O, "validator", True, E.REJECTED, exhausted=False),
    Transition(A.REJECT, R, D, "validator", True, E.REJECTED, exhausted=True),
    Transition(A.FAIL, R, R, "validator", True, E.REVIEW_FAILED, exhausted=False),
    Transition(A.FAIL, R, D, "validator", True, E.REJECTED, exhausted=True),
    Transition(A.EXPIRE, R, R, "sweeper", False, E.REVIEW_EXPIRED, exhausted=False),
    Transition(A.EXPIRE, R, D, "sweeper", False, E.REJECTED, exhausted=True),
    Transition(A.RELEASE, R, R, "validator", True, E.RELEASED),
    Transition(A.REVOKE, P, O, "operator", False, E.RELEASED),
    Transition(A.REVOKE, R, R, "operator", False, E.RELEASED),
)


def counter(action: Action, source: Status) -> str:
    """The issue column that says whether ``action`` from ``source`` is exhausted.

    A review that ends without a verdict counts the submission's ``reviews``; everything else
    counts the builder's ``attempts``. Both are compared with ``max_attempts``.
    """
    return "reviews" if source == Status.IN_REVIEW and action in (Action.FAIL, Action.EXPIRE) else "attempts"


def find_transition(action: Action, source: Status, *, exhausted: bool = False) -> Transition:
    """Return the edge for ``action`` from ``source``.

    Args:
        action: what the caller wants to do.
        source: the issue's current status.
        exhausted: whether the issue has used all its allowed attempts (matters for expire/fail).

    Raises:
        IllegalTransition: no such edge; the message names the allowed source statuses.
    """
    for edge in TRANSITIONS:
        if edge.action == action and edge.source == source and edge.exhausted in (None, exhausted):
            return edge
    allowed = sorted({edge.source.value for edge in TRANSITIONS if edge.action == action})
    raise IllegalTransition(
        f"cannot {action.value} an issue that is {source.value} (allowed from: {', '.join(allowed)})",
        action=action.value,
        status=source.value,
    )
