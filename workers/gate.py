"""The close gate: the runtime, not the model, decides whether ``issue_close`` closes (issue 8).

When a worker closes its issue, :class:`CloseGate` commits the worktree, runs the issue's checks
there and records every run as evidence. Any failure (a commit refused by a hook, a check that
exits non-zero, times out or cannot start) refuses the close: the worker's tool result gives the
failing command, its exit code and the tail of its output, so the model can fix the work and close
again within its turn (seed 001's generate, verify, improve loop). When everything passes the
issue goes to ``in_review`` for a validator, or straight to ``closed`` with validation off
(``--no-validation`` skips the validator, never the checks).
"""

from __future__ import annotations


from foreman.issues import Issue, IssueStore, reads, writes
from foreman.issues.errors import ChecksFailed
from foreman.runtime.workspace import BRANCH_PREFIX, Workspace, WorkspaceError
from workers.checks import CheckRun, record_runs, run_checks
from workers.results import record_result

VERIFICATION_STATE = "verification"  #: fleet_state key: {"validation", "run_checks"} of the run (for every worker)

class CloseGate:
    """Commit, check, then submit or close one worker's claimed issue.

    Args:
        store: the issue store.
        workspace: the fleet's workspace.
        key: the worktree key of the session (the issue id, or the agent-mode session label).
        validation: True: a passing close goes to ``in_review``; False: it closes.
        actor: the worker's name (author of notes and evidence).
        timeout: seconds per check.
        run_checks: False only for the quality benchmark's baseline: commit and close on the model's word.
        stages: the ids of the earlier stages the worktree started from (workers/results.py); None:
            read from the store at close.
    """

    def __init__(self, store: IssueStore, workspace: Workspace, key: str, *, validation: bool, actor: str,
                 timeout: float, run_checks: bool = True, stages: list[str] | None = None) -> None:
        self.store, self.workspace, self.key = store, workspace, key
        self.validation, self.actor, self.timeout, self.run_checks = validation, actor, timeout, run_checks
        self.stages = stages

    async def close(self, issue_id: str, token: int | None, summary: str, outputs: dict[str, str] | None = None) -> Issue:
        """Close (or submit for review) ``issue_id`` held with ``token`` if its checks pass.

        ``token`` None is an operator's close of an unclaimed issue (``foreman issues close``): the
        checks still run, then the issue closes (an operator is its own reviewer). A passing close
        stores the issue's result (summary, ``outputs`` by name, files changed) for the issues
        that depend on it (workers/results.py).

        Raises:
            ChecksFailed: the commit or a check failed (the message, the model's feedback, says which and why).
            IssueError: the store refused (stale token, expired lease).
        """
        issue = await reads.read(self.store, self.store.get, issue_id)
        commit = await self._commit(issue, summary)
        checks = issue.checks if self.run_checks else []
        runs = await run_checks(checks, self.workspace.worktree_of(self.key), commit=commit, timeout=self.timeout)
        await record_runs(self.store, issue_id, self.actor, runs)
        failed = [run for run in runs if not run.passed]
        if failed:
            raise ChecksFailed(refusal(failed, len(runs)))
        await record_result(self.store, self.workspace, self.key, issue_id, token, summary=summary, outputs=outputs,
                            actor=self.actor, stages=self.stages)
        if self.validation and token is not None:
            return await writes.write(self.store, self.store.submit, issue_id, token, summary=summary)
        return await writes.write(self.store, self.store.close, issue_id, reason=summary, actor=self.actor, token=token)

    async def _commit(self, issue: Issue, summary: str) -> str | None:
        """Commit the worktree; returns the commit the checks run on (None outside git)."""
        if not self.workspace.git:
            return None
        try:
            changed = await self.workspace.commit(self.key, f"{issue.id}: {issue.title}\n\n{summary}")
        except WorkspaceError as exc:
            failed = CheckRun("git commit", 1, 0.0, str(exc)[-2000:], False, None)
            await record_runs(self.store, issue.id, self.actor, [failed])
            raise ChecksFailed(f"close refused: the commit failed, nothing was committed.\n{failed.describe()}") from None
        if changed:
            note = f"Committed on {BRANCH_PREFIX}{self.key}: {', '.join(changed)}"
            await writes.write(self.store, self.store.note, issue.id, note, author=self.actor)
        return await self.workspace.head(self.key)


def refusal(failed: list[CheckRun], total: int) -> str:
    """The feedback a refused close gives the model: each failing check with its output tail."""
    head = f"close refused: {len(failed)} of {total} checks failed. Fix the work, then close again."
    return "\n\n".join([head, *(run.describe() for run in failed)])
