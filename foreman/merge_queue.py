"""The merge queue: verified branches merged, in closing order, into one integration branch (issue 8).

Each closed issue's branch ``foreman/<id>`` is merged with ``--no-ff`` into the integration branch
(``foreman/integration`` by default), which starts at the run's base commit and lives in its own
worktree, ``.foreman/worktrees/_integration``: the user's checked-out branch, index and files are
never touched. After each merge the checks of every issue merged so far run on the integration
worktree. A conflict or a failing check is neither lost nor hidden: the merge is undone, the
issue's branch stays, and a ``merge`` issue for a coding worker carries the details. Its worktree
starts from the integration branch with the conflicting merge in progress (conflict markers in the
files) or with the failing merge applied; once it is closed and verified, it is merged like any
other issue, and the original issue counts as merged through it.

On a clone of the workers' git remote (``foreman run --remote URL``: a
:class:`~workers.remote.RemoteWorkspace`) the queue integrates on the remote: each issue's branch
is read as the remote has it (fetched just before its merge), the integration branch continues
from the remote's copy when there is one and is pushed back after each merge that passed (never
forced), and a merge issue's branch is pushed with the merge committed, conflict markers and all,
so a worker on another machine starts from it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from foreman.issues import Issue, IssueStore, IssueUpdate, NewIssue, Status
from foreman.issues.identity import RUNTIME_ACTOR
from foreman.runtime.workspace import BRANCH_PREFIX, Workspace, WorkspaceError, git
from workers.checks import CHECK_TIMEOUT, record_runs, run_checks

INTEGRATION_BRANCH = "foreman/integration"
INTEGRATION_KEY = "_integration"  # worktree folder of the integration branch
MERGE = "merge"  #: issue metadata: how its branch fared ({"state": merged|conflict|failed|skipped, ...})
MERGE_OF = "merge_of"  #: issue metadata of a merge issue: the issue whose branch it integrates
NO_MARKERS = "! git grep -nE '^(<<<<<<<|>>>>>>>)( |$)' -- ."  # a check every merge issue gets


@dataclass(frozen=True)
class MergeResult:
    """What happened to one issue's branch: ``state`` is merged, conflict, failed or skipped."""

    issue_id: str
    state: str
    detail: str = ""
    merge_issue: str | None = None


class MergeQueue:
    """Integrates closed issues' branches one at a time.

    Args:
        store: the issue store.
        workspace: the fleet's workspace (a git repository; otherwise the queue does nothing).
        base: the commit the integration branch starts from (the run's base commit).
        into: the integration branch's name.
        timeout: seconds per check run on the integration branch.
        run_checks: False (the quality benchmark's baseline only): merge without running checks.
    """

    def __init__(self, store: IssueStore, workspace: Workspace, *, base: str, into: str = INTEGRATION_BRANCH,
                 timeout: float = CHECK_TIMEOUT, run_checks: bool = True) -> None:
        self.store, self.workspace, self.base, self.into, self.timeout = store, workspace, base, into, timeout
        self.run_checks = run_checks
        self.path = workspace.worktree_path(INTEGRATION_KEY)

    async def advance(self) -> list[MergeResult]:
        """Merge every closed issue not yet handled, in closing order; returns what happened to each.

        The closed issues are read once per call, not once per merge (workers that close together
        made that quadratic); the issues this call merges join the merged ones as it goes."""
        if not self.workspace.git:
            return []
        closed = await asyncio.to_thread(self.store.list, statuses=[Status.CLOSED])
        merged = [i for i in closed if i.metadata.get(MERGE, {}).get("state") == "merged"]
        by_id = {i.id: i for i in closed}
        results = []
        for issue in sorted((i for i in closed if MERGE not in i.metadata), key=lambda i: (i.closed_at, i.id)):
            result = await self._integrate(issue, merged)
            if result.state == "merged":  # a merge issue merges the issue it integrates too (see _settle)
                merged += [i for i in (issue, by_id.get(issue.metadata.get(MERGE_OF))) if i is not None]
            results.append(result)
        return results

    async def _integrate(self, issue: Issue, done: list[Issue]) -> MergeResult:
        """Merge ``issue``'s branch and run its checks with those of the ``done`` (merged) issues."""
        await asyncio.to_thread(self._ensure_worktree)
        ref = await asyncio.to_thread(self.workspace.branch_ref, BRANCH_PREFIX + issue.id)
        if ref is None:
            return await self._settle(issue, MergeResult(issue.id, "skipped", "no branch: closed without a worktree"))
        conflict = await asyncio.to_thread(self._merge, ref, issue)
        if conflict is not None:
            return await self._hand_over(issue, ref, "conflict", conflict, done)
        checks = merged_checks(done, issue) if self.run_checks else []
        merged = await self._head()  # the merge commit: what the checks run on and what the result names
        runs = await run_checks(checks, self.path, commit=merged, timeout=self.timeout)
        await record_runs(self.store, issue.id, RUNTIME_ACTOR, runs, where="integration")
        failed = [run for run in runs if not run.passed]
        if failed:
            return await self._hand_over(issue, ref, "failed", "\n\n".join(run.describe() for run in failed), done)
        await asyncio.to_thread(self.workspace.publish, self.into)
        return await self._settle(issue, MergeResult(issue.id, "merged", merged))

    # -- git ------------------------------------------------------------------------------

    def _ensure_worktree(self) -> None:
        """The integration worktree, continuing the integration branch if it exists (here or on the remote)."""
        if not self.path.exists():
            start = self.workspace.branch_ref(self.into) or self.base
            self.workspace.add_worktree(INTEGRATION_KEY, self.into, start=start)

    def _merge(self, ref: str, issue: Issue) -> str | None:
        """Merge ``ref`` (the issue's branch); on a conflict, abort and return the conflicting files and git's words."""
        try:
            git(self.path, "merge", "--no-ff", "-q", "-m", f"Merge {BRANCH_PREFIX}{issue.id}: {issue.title}", ref)
            return None
        except WorkspaceError as exc:
            files = git(self.path, "diff", "--name-only", "--diff-filter=U").split()
            git(self.path, "merge", "--abort")
            return f"conflicting files: {', '.join(files) or '(none listed)'}\n{exc}"

    async def _head(self) -> str:
        return await asyncio.to_thread(git, self.path, "rev-parse", "HEAD")

    # -- bookkeeping ----------------------------------------------------------------------

    async def _settle(self, issue: Issue, result: MergeResult) -> MergeResult:
        """Record the result on the issue (and, for a merged merge issue, on the issue it integrates)."""
        record = {"state": result.state, "detail": result.detail[:2000], "into": self.into}
        if result.merge_issue:
            record["merge_issue"] = result.merge_issue
        await asyncio.to_thread(self.store.update, issue.id, IssueUpdate(metadata={MERGE: record}), actor=RUNTIME_ACTOR)
        original = issue.metadata.get(MERGE_OF)
        if original and result.state == "merged":
            via = {"state": "merged", "detail": f"through {issue.id}", "into": self.into}
            await asyncio.to_thread(self.store.update, original, IssueUpdate(metadata={MERGE: via}), actor=RUNTIME_ACTOR)
        return result

    async def _hand_over(self, issue: Issue, ref: str, state: str, detail: str, done: list[Issue]) -> MergeResult:
        """Undo nothing of the issue's branch (read at ``ref``); create the merge issue that integrates it
        (its checks: those of the ``done`` issues and ``issue``'s)."""
        new = _merge_issue(issue, state, detail, merged_checks(done, issue), self.into)
        created = await asyncio.to_thread(self.store.create, new, actor=RUNTIME_ACTOR)
        await asyncio.to_thread(self._prepare_worktree, created.id, issue.id, ref, state)
        return await self._settle(issue, MergeResult(issue.id, state, detail, merge_issue=created.id))

    def _prepare_worktree(self, key: str, issue_id: str, ref: str, state: str) -> None:
        """The merge issue's worktree: integration HEAD plus the issue's branch (at ``ref``), merged but not resolved."""
        path = self.workspace.add_worktree(key, BRANCH_PREFIX + key, start=self.into)
        message = f"Merge {BRANCH_PREFIX}{issue_id}"
        try:
            git(path, "merge", "--no-ff", "-q", "-m", message, ref)
        except WorkspaceError:
            pass  # a conflict: the markers stay in the files for the worker to resolve
        if state == "failed":
            git(self.path, "reset", "-q", "--hard", "HEAD~1")  # undo the merge on the integration branch
        self.workspace.share(key, f"{message} (conflicts unresolved)" if state == "conflict" else message)


def merged_checks(merged: list[Issue], issue: Issue) -> list[str]:
    """The checks of the ``merged`` issues (oldest first, as the store lists them) plus ``issue``'s,
    each command once."""
    commands: dict[str, None] = {}
    for each in [*sorted(merged, key=lambda i: (i.created_at, i.id)), issue]:
        commands.update(dict.fromkeys(c for c in each.checks if c != NO_MARKERS))
    return list(commands)


def _merge_issue(issue: Issue, state: str, detail: str, checks: list[str], into: str) -> NewIssue:
    """The issue that asks a coding worker to integrate ``issue``'s branch."""
    if state == "conflict":
        what = (f"Merging {BRANCH_PREFIX}{issue.id} into {into} conflicts. Your worktree holds that merge in "
                "progress: edit each conflicting file so that it keeps both sides' changes, and remove every "
                "conflict marker line (<<<<<<<, =======, >>>>>>>).")
    else:
        what = (f"After merging {BRANCH_PREFIX}{issue.id} into {into}, checks fail. Your worktree holds the merged "
                "code: fix it so that every check passes.")
    return NewIssue(
        title=f"Merge {issue.id}: {issue.title}"[:200],
        description=f"{what}\n\n{detail}"[:4000],
        acceptance_criteria="Every check passes on the merged code; no conflict markers remain.",
        priority=issue.priority,
        metadata={"worker_type": "coding", MERGE_OF: issue.id},
        checks=[*checks, NO_MARKERS],
    )


__all__ = ["INTEGRATION_BRANCH", "MERGE", "MERGE_OF", "NO_MARKERS", "MergeQueue", "MergeResult"]
