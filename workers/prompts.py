"""The task a worker session gets for its claimed issue (runtime claim mode) or to find one (agent mode)."""

from __future__ import annotations

from foreman.issues import EventKind, Status
from foreman.issues.models import IssueDetail
from foreman.issues.identity import RUNTIME_ACTOR
from workers.results import RESULT

OUTPUT_CHARS = 1_500  # characters of one named output shown to a later issue (a small model's context is ~8k tokens)
FILES_SHOWN = 30  # changed files listed per earlier issue

AGENT_MODE_TASK = (
    "Look at the ready issues with issue_ready, claim one with issue_claim, do the work, "
    "then close it with issue_close (or block it with issue_block, saying what is missing)."
)


def task_prompt(detail: IssueDetail, upstream: list[IssueDetail] = ()) -> str:
    """Render an issue (title, description, acceptance criteria, results of ``upstream`` issues, notes,
    earlier attempts) as the session's task. ``upstream``: the issues it depends on or takes as inputs."""
    issue = detail.issue
    lines = [f"Your issue is {issue.id}: {issue.title}"]
    if issue.description:
        lines.append(f"Description: {issue.description}")
    if issue.acceptance_criteria:
        lines.append(f"Acceptance criteria: {issue.acceptance_criteria}")
    if upstream:
        lines.append("This issue builds on the results of earlier issues:")
        lines += [line for earlier in upstream for line in result_lines(earlier)]
    if issue.checks:
        lines.append("issue_close runs these checks in your workspace; each must exit 0 before the issue closes:")
        lines += [f"- `{check}`" for check in issue.checks]
    notes = [note for note in detail.notes if note.author != RUNTIME_ACTOR]  # bookkeeping, not guidance
    if notes:
        lines.append("Notes so far:")
        lines += [f"- {note.author}: {note.body}" for note in notes[-8:]]
    failed = [a for a in detail.attempts if a.outcome in ("failed", "lease_expired")]
    if failed:
        lines.append("Earlier attempts failed:")
        lines += [f"- attempt {a.number} by {a.worker}: {a.error or a.outcome}" for a in failed[-3:]]
    lines.append("Do the work now with your tools, then call issue_close with a summary "
                 "(or issue_block saying exactly what is missing).")
    return "\n".join(lines)


def result_lines(detail: IssueDetail) -> list[str]:
    """An earlier issue's result for a later issue's prompt: summary, named outputs, files changed, passing checks."""
    issue = detail.issue
    result = issue.metadata.get(RESULT)
    if issue.status != Status.CLOSED or not isinstance(result, dict):
        return [f"- {issue.id} {issue.title} ({issue.status.value}): no result yet"]
    lines = [f"- {issue.id} {issue.title}: {result.get('summary') or issue.close_reason or '(no summary)'}"]
    lines += [f"  output {name}: {_clip(str(text))}" for name, text in (result.get("outputs") or {}).items()]
    if result.get("files"):
        lines.append(f"  files changed: {', '.join(result['files'][:FILES_SHOWN])}")
    passed = {e.data["command"] for e in detail.evidence if e.kind == EventKind.CHECKED and e.data.get("passed")}
    if passed:
        lines.append(f"  checks passed: {', '.join(f'`{c}`' for c in issue.checks if c in passed)}")
    return lines


def _clip(text: str) -> str:
    return text if len(text) <= OUTPUT_CHARS else text[:OUTPUT_CHARS] + f" ... ({len(text) - OUTPUT_CHARS} more characters)"


def settle_prompt(issue_id: str) -> str:
    """The one follow-up a session gets when its turn ended with the issue neither closed nor blocked.

    It asks for the close only: offering "or block" here made small models block finished work.
    """
    return f"Now call issue_close with a one-line summary of what you did for issue {issue_id}."
