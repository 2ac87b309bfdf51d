"""The foreman's watch: unblock blocked issues, retry or escalate failed ones, and say when the run is over.

Each review asks the foreman session about issues that need it: a blocked issue gets its blocking
notes and the workspace's files, and the foreman answers with ``issue_unblock``; a dead-letter issue
gets its attempts, and the foreman retries it with ``issue_reopen`` and changed instructions. An
issue the foreman leaves as it is after :data:`MAX_FOREMAN_TRIES` reviews, or that keeps coming
back blocked after the foreman unblocked it that many times, is marked ``needs_human`` (a person
unblocks or reopens it with the CLI). The run is over when every issue is
closed or waits for a human.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

from foreman.issues import EventKind, Issue, IssueStore, IssueUpdate, Status
from foreman.sessions import FleetSession

MAX_FOREMAN_TRIES = 2  # reviews of one issue before it is handed to a human
NEEDS_HUMAN = "needs_human"
TRIES = "foreman_tries"
WORKSPACE_LISTING_LIMIT = 40  # files shown to the foreman when it looks for missing input


@dataclass
class RunState:
    """Where the run stands: done when nothing is left for workers or the foreman."""

    counts: dict[str, int]
    waiting_for_human: list[Issue] = field(default_factory=list)

    @property
    def over(self) -> bool:
        """True when every issue is closed or waits for a human."""
        active = sum(self.counts[s] for s in ("open", "in_progress", "blocked", "dead_letter"))
        return active == len(self.waiting_for_human)


def needs_human(issue: Issue) -> bool:
    """True when the foreman handed this issue to a person."""
    return bool(issue.metadata.get(NEEDS_HUMAN)) and issue.status in (Status.BLOCKED, Status.DEAD_LETTER)


def run_state(store: IssueStore) -> RunState:
    """Count issues by status and list those waiting for a human."""
    waiting = [i for i in store.list(statuses=[Status.BLOCKED, Status.DEAD_LETTER]) if needs_human(i)]
    return RunState(counts=store.counts(), waiting_for_human=waiting)


def workspace_listing(root: Path) -> str:
    """Up to :data:`WORKSPACE_LISTING_LIMIT` file paths of the workspace (hidden folders skipped)."""
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*")
                   if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts))
    return "\n".join(files[:WORKSPACE_LISTING_LIMIT]) or "(empty)"


def unblock_prompt(issue: Issue, notes: list[str], listing: str) -> str:
    """Ask the foreman to unblock one issue with the missing input."""
    return (f"Issue {issue.id} \"{issue.title}\" is blocked: {issue.blocking_notes}\n"
            f"Its notes: {' | '.join(notes[-5:]) or 'none'}\nFiles in the workspace:\n{listing}\n"
            f"If you can give the missing input, call issue_unblock with id {issue.id} and a note that gives it "
            "(for example where the needed file is). If you cannot, answer HUMAN.")


def retry_prompt(issue: Issue, attempts: list[str]) -> str:
    """Ask the foreman to retry a dead-letter issue with changed instructions."""
    return (f"Issue {issue.id} \"{issue.title}\" failed every attempt:\n" + "\n".join(attempts[-3:]) +
            f"\nIf a clearer instruction would help, call issue_reopen with id {issue.id} and a note with that "
            "instruction. If a person must look at it, answer HUMAN.")


class Monitor:
    """Runs foreman reviews over the queue.

    Args:
        session: the foreman's session (tool-issue with the foreman role).
        store: the issue store.
        workspace: the workspace root (listed for the foreman when it looks for missing input).
    """

    def __init__(self, session: FleetSession, store: IssueStore, workspace: Path) -> None:
        self.session, self.store, self.workspace = session, store, workspace

    async def review(self) -> RunState:
        """Review every blocked and dead-letter issue not yet handed to a human; returns the run state."""
        for issue in await asyncio.to_thread(self.store.list, statuses=[Status.BLOCKED, Status.DEAD_LETTER]):
            if not needs_human(issue):
                await self._review_one(issue)
        return await asyncio.to_thread(run_state, self.store)

    async def _review_one(self, issue: Issue) -> None:
        if await asyncio.to_thread(self._unblocked_too_often, issue):
            await asyncio.to_thread(self._hand_to_human, issue)
            return
        detail = await asyncio.to_thread(self.store.show, issue.id)
        if issue.status == Status.BLOCKED:
            notes = [f"{n.author}: {n.body}" for n in detail.notes]
            prompt = unblock_prompt(issue, notes, await asyncio.to_thread(workspace_listing, self.workspace))
        else:
            prompt = retry_prompt(issue, [f"#{a.number} {a.worker}: {a.error or a.outcome}" for a in detail.attempts])
        try:
            await self.session.execute(prompt)
        except RuntimeError as exc:
            await asyncio.to_thread(self.store.note, issue.id, f"foreman review failed: {exc}", author="foreman")
        after = await asyncio.to_thread(self.store.get, issue.id)
        if after.status == issue.status:
            await asyncio.to_thread(self._count_try, after)

    def _unblocked_too_often(self, issue: Issue) -> bool:
        """True when the foreman already unblocked this issue MAX_FOREMAN_TRIES times (block/unblock ping-pong)."""
        unblocks = self.store.events(issue.id, kinds=[EventKind.UNBLOCKED])
        return issue.status == Status.BLOCKED and sum(e.actor == "foreman" for e in unblocks) >= MAX_FOREMAN_TRIES

    def _count_try(self, issue: Issue) -> None:
        tries = int(issue.metadata.get(TRIES, 0)) + 1
        self.store.update(issue.id, IssueUpdate(metadata={TRIES: tries}), actor="foreman")
        if tries >= MAX_FOREMAN_TRIES:
            self._hand_to_human(issue)

    def _hand_to_human(self, issue: Issue) -> None:
        self.store.update(issue.id, IssueUpdate(metadata={NEEDS_HUMAN: True}), actor="foreman")
        action = "unblock" if issue.status == Status.BLOCKED else "reopen"
        self.store.note(issue.id, f"Needs a human: the foreman could not resolve it. "
                                  f"Run `foreman issues {action} {issue.id} \"...\"`.", author="foreman")
