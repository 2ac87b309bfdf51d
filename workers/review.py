"""What a validator session is given: the issue, its acceptance criteria, the check evidence and the diff.

Seed 004: each task gets a builder session and an antagonistic validator session that answers
PASS or FAIL with critical issues. The validator gets the diff of the issue's branch against the
commit it started from, so it judges the change, not the builder's summary of it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from foreman.issues import EventKind
from foreman.issues.models import IssueDetail
from foreman.runtime.workspace import BRANCH_PREFIX, WorkspaceError, git

DIFF_CHARS = 4_000  # characters of the branch's diff shown to the validator (a small model's context is ~8k tokens)
BASE_COMMIT = "base_commit"  #: fleet_state key: the commit the run's branches start from


async def branch_diff(root: Path, issue_id: str, base: str | None) -> str:
    """``git diff base...foreman/<id>`` (changes on the branch since it forked), capped at :data:`DIFF_CHARS`."""
    try:
        diff = await asyncio.to_thread(git, root, "diff", "--stat", "--patch", f"{base or 'HEAD'}...{BRANCH_PREFIX}{issue_id}")
    except WorkspaceError as exc:
        return f"(no diff: {exc})"
    if len(diff) > DIFF_CHARS:
        return diff[:DIFF_CHARS] + f"\n... ({len(diff) - DIFF_CHARS} more characters; read the files for the rest)"
    return diff or "(the branch changes nothing)"


def review_prompt(detail: IssueDetail, diff: str) -> str:
    """The validator's task for one issue in review."""
    issue = detail.issue
    lines = [f"Review issue {issue.id}: {issue.title}"]
    if issue.description:
        lines.append(f"Description: {issue.description}")
    lines.append(f"Acceptance criteria: {issue.acceptance_criteria or '(none given: judge against the description)'}")
    lines.append(f"The builder ({issue.submitted_by}) says: {issue.close_reason or '(nothing)'}")
    checks = [e.data for e in detail.evidence if e.kind == EventKind.CHECKED and e.data.get("where") == "worktree"]
    latest = {c["command"]: c for c in checks}
    if latest:
        lines.append("Checks run by the runtime on the builder's commit:")
        lines += [f"- `{c['command']}`: exit {c['exit_code']}" for c in latest.values()]
    lines.append(f"Diff of branch {BRANCH_PREFIX}{issue.id}:\n{diff}")
    lines.append("Find what is wrong or missing against the acceptance criteria. Then call issue_verdict "
                 "with verdict PASS or FAIL and the critical issues.")
    return "\n".join(lines)


def verdict_prompt(issue_id: str) -> str:
    """The one follow-up a validator gets when its turn ended without a verdict."""
    return f"Now call issue_verdict for issue {issue_id} with verdict PASS or FAIL."
