"""A task prompt shows the results of the issues it builds on (issue 12): summary, outputs, files, checks."""

from __future__ import annotations

from datetime import datetime, timezone

from foreman.issues import EventKind, Status
from foreman.issues.models import Event, Issue, IssueDetail
from workers.prompts import OUTPUT_CHARS, task_prompt
from workers.results import RESULT

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def detail(issue_id: str, title: str, status: Status = Status.OPEN, metadata: dict | None = None,
           checks: list[str] = (), evidence: list[Event] = ()) -> IssueDetail:
    issue = Issue(id=issue_id, title=title, status=status, metadata=metadata or {}, checks=list(checks),
                  created_at=NOW, updated_at=NOW)
    return IssueDetail(issue=issue, notes=[], dependencies=[], dependents=[], attempts=[], evidence=list(evidence))


def checked(command: str, passed: bool) -> Event:
    return Event(id=1, issue_id="fm-aaaa", kind=EventKind.CHECKED, actor="w", created_at=NOW,
                 data={"command": command, "passed": passed})


def test_a_closed_stage_hands_on_its_summary_outputs_files_and_passing_checks():
    result = {"summary": "wrote the requirements", "outputs": {"spec": "x" * (OUTPUT_CHARS + 10)},
              "files": ["docs/requirements.md"]}
    earlier = detail("fm-aaaa", "Requirements", Status.CLOSED, {RESULT: result}, ["test -s docs/requirements.md", "false"],
                     [checked("test -s docs/requirements.md", True), checked("false", False)])
    prompt = task_prompt(detail("fm-bbbb", "Design"), [earlier])
    assert "This issue builds on the results of earlier issues:\n- fm-aaaa Requirements: wrote the requirements" in prompt
    assert f"  output spec: {'x' * OUTPUT_CHARS} ... (10 more characters)" in prompt
    assert "  files changed: docs/requirements.md\n  checks passed: `test -s docs/requirements.md`\n" in prompt


def test_a_stage_not_closed_yet_says_so_and_no_upstream_adds_nothing():
    prompt = task_prompt(detail("fm-bbbb", "Design"), [detail("fm-aaaa", "Requirements", Status.IN_PROGRESS)])
    assert "- fm-aaaa Requirements (in_progress): no result yet" in prompt
    assert "builds on" not in task_prompt(detail("fm-bbbb", "Design"))
