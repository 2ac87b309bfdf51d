"""The state machine in code matches the table in docs/state-machine.md, and refuses what it lacks."""

from __future__ import annotations

from pathlib import Path

import pytest

from foreman.issues.errors import IllegalTransition
from foreman.issues.models import Status
from foreman.issues.states import TRANSITIONS, Action, counter, find_transition

DOC = Path(__file__).parents[2] / "docs" / "state-machine.md"


def _doc_rows() -> set[tuple[str, str, str, str, str, str]]:
    rows = set()
    for line in DOC.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 6 and cells[0] in {s.value for s in Status}:
            rows.add(tuple(cells))
    return rows


def _code_rows() -> set[tuple[str, str, str, str, str, str]]:
    def action(t):
        if t.exhausted is None:
            return t.action.value
        left = counter(t.action, t.source)
        return f"{t.action.value} ({'no ' if t.exhausted else ''}{left} left)"

    return {
        (t.source.value, t.target.value, action(t), t.actor, "yes" if t.fenced else "no", t.event.value)
        for t in TRANSITIONS
    }


def test_doc_table_matches_transitions():
    assert _doc_rows() == _code_rows()


@pytest.mark.parametrize(
    ("action", "source"),
    [(Action.CLAIM, Status.CLOSED), (Action.UNBLOCK, Status.OPEN), (Action.REOPEN, Status.IN_PROGRESS),
     (Action.HEARTBEAT, Status.OPEN), (Action.CLOSE, Status.DEAD_LETTER)],
)
def test_missing_edges_are_refused_with_the_allowed_sources(action, source):
    with pytest.raises(IllegalTransition) as err:
        find_transition(action, source)
    assert source.value in err.value.message and "allowed from" in err.value.message


def test_exhausted_attempts_route_to_dead_letter():
    assert find_transition(Action.EXPIRE, Status.IN_PROGRESS, exhausted=True).target == Status.DEAD_LETTER
    assert find_transition(Action.FAIL, Status.IN_PROGRESS, exhausted=False).target == Status.OPEN
