"""What the dashboard's pages compute (issue 10): remaining time, and the issues table's query."""

from __future__ import annotations

from datetime import datetime, timezone

from foreman.dashboard.views import IssueQuery, remaining_estimate
from foreman.issues import Issue

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def issue(n: int, **metadata) -> Issue:
    return Issue(id=f"fm-{n:04d}", title=f"issue {n}", metadata=metadata, created_at=NOW, updated_at=NOW)


def test_remaining_time_from_estimates_spread_over_working_workers():
    left = [issue(1, estimate_minutes=10), issue(2, estimate_minutes=20), issue(3)]  # the third counts as 15
    assert remaining_estimate(left, closed=0, elapsed=None, workers=3) == (15 * 60.0, "from the estimates of 2 issues")


def test_remaining_time_from_the_pace_without_estimates():
    seconds, basis = remaining_estimate([issue(1), issue(2)], closed=4, elapsed=100.0, workers=2)
    assert seconds == 50.0 and basis == "from the average time per closed issue"


def test_remaining_time_is_unknown_before_the_first_close_and_zero_when_done():
    assert remaining_estimate([issue(1)], closed=0, elapsed=30.0, workers=1)[0] is None
    assert remaining_estimate([issue(1, estimate_minutes=True)], closed=0, elapsed=30.0, workers=1)[0] is None
    assert remaining_estimate([], closed=3, elapsed=30.0, workers=1) == (0.0, "nothing left")


def test_issue_query_falls_back_to_defaults_on_bad_values():
    query = IssueQuery.from_params({"status": "bogus", "sort": "x; drop", "page": "-3", "desc": "1", "q": "Login"})
    assert (query.status, query.sort, query.page, query.desc) == ("", "created", 1, True)
    assert query.matches(issue(7).model_copy(update={"title": "Fix the login"}))
    assert query.params(page=2) == {"q": "Login", "sort": "created", "desc": "1", "page": "2"}
