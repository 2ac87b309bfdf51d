"""The foreman's watch: unblock blocked issues, retry or escalate failed ones, and say when the run is over.

Each review asks the foreman session about issues that need it: a blocked issue gets its blocking
notes and the workspace's files, and the foreman answers with ``issue_unblock``; a dead-letter issue
gets its attempts, and the foreman retries it with ``issue_reopen`` and changed instructions, unless
it ran out of its budget (issue 12): that one goes to a human at once, with no model call. An
issue the foreman leaves as it is after :data:`MAX_FOREMAN_TRIES` reviews, or that keeps coming
back blocked (or to dead letter) after the foreman unblocked (or reopened) it that many times, is
marked ``needs_human`` (a person unblocks or reopens it with the CLI). A person's unblock or reopen (any actor but the foreman and
the runtime) hands the issue back: its try count and ``needs_human`` flag no longer hold, so a
later block is reviewed afresh. The run is over when every issue is closed or waits for a human.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

from amplifier_core.models import HookResult

from foreman.issues import DependencyType, EventKind, Issue, IssueStore, IssueUpdate, Status, reads
from foreman.issues.identity import RUNTIME_ACTOR
from foreman.listing import workspace_listing
from foreman.runtime.sessions import FleetSession

MAX_FOREMAN_TRIES = 2  # reviews of one issue before it is handed to a human
OVER_BUDGET = "budget"  # the outcome of an attempt stopped at the issue's budget (issue 12)
NEEDS_HUMAN = "needs_human"
TRIES = "foreman_tries"
ANSWERS = "foreman_answers_seen"  # metadata: a person's unblocks/reopens counted when the two keys above were set
FOREMAN = "foreman"  # the foreman's actor name
MACHINE_ACTORS = frozenset({FOREMAN, RUNTIME_ACTOR})  # every other actor of an unblock or reopen is a person


@dataclass(frozen=True)
class Returns:
    """How an issue came back from blocked or dead letter, read from its event log.

    Attributes:
        answers: unblocks and reopens by a person (any actor outside :data:`MACHINE_ACTORS`).
        foreman_unblocks: the foreman's unblocks since the last of those answers.
        foreman_reopens: the foreman's reopens (retries of a dead letter) since the last of those answers.
    """

    answers: int
    foreman_unblocks: int
    foreman_reopens: int = 0


def returns(store: IssueStore, issue_id: str) -> Returns:
    """Count the issue's unblocks and reopens by a person, and the foreman's unblocks and reopens since the last one."""
    events = store.events(issue_id, kinds=[EventKind.UNBLOCKED, EventKind.REOPENED])
    human = [e.id for e in events if e.actor not in MACHINE_ACTORS]
    since = human[-1] if human else 0
    mine = [e.kind for e in events if e.actor == FOREMAN and e.id > since]
    return Returns(answers=len(human), foreman_unblocks=mine.count(EventKind.UNBLOCKED),
                   foreman_reopens=mine.count(EventKind.REOPENED))


def answered(issue: Issue, seen: Returns) -> bool:
    """True when a person unblocked or reopened the issue after the foreman last counted a try or escalated it."""
    escalated = NEEDS_HUMAN in issue.metadata or TRIES in issue.metadata
    return escalated and seen.answers > int(issue.metadata.get(ANSWERS, 0))


@dataclass
class RunState:
    """Where the run stands: done when nothing is left for workers or the foreman."""

    counts: dict[str, int]
    waiting_for_human: list[Issue] = field(default_factory=list)

    @property
    def over(self) -> bool:
        """True when every issue is closed or waits for a human."""
        active = sum(self.counts.get(s, 0) for s in ("open", "in_progress", "in_review", "blocked", "dead_letter"))
        return active == len(self.waiting_for_human)


def needs_human(issue: Issue) -> bool:
    """True when the foreman handed this issue to a person (it may have been answered since: see :func:`answered`)."""
    return bool(issue.metadata.get(NEEDS_HUMAN)) and issue.status in (Status.BLOCKED, Status.DEAD_LETTER)


def run_state(store: IssueStore) -> RunState:
    """Count issues by status and list those still waiting for a human: handed to one, or open
    behind one (a later pipeline stage whose earlier stage is in dead letter can never be ready)."""
    waiting = [i for i in store.list(statuses=[Status.BLOCKED, Status.DEAD_LETTER])
               if needs_human(i) and not answered(i, returns(store, i.id))]
    return RunState(counts=store.counts(), waiting_for_human=waiting + _behind(store, {i.id for i in waiting}))


def _behind(store: IssueStore, waiting: set[str]) -> list[Issue]:
    """Open issues that wait, through ``blocks`` or ``parent-child`` edges, on one of ``waiting`` (issue 12)."""
    if not waiting:
        return []
    candidates = store.list(statuses=[Status.OPEN])
    waits_on = {}
    for issue in candidates:
        detail = store.show(issue.id)
        waits_on[issue.id] = ({d.depends_on for d in detail.dependencies if d.type == DependencyType.BLOCKS}
                              | {d.issue_id for d in detail.dependents if d.type == DependencyType.PARENT_CHILD})
    stuck: set[str] = set()
    while grown := {i.id for i in candidates if i.id not in stuck and waits_on[i.id] & (waiting | stuck)}:
        stuck |= grown
    return [i for i in candidates if i.id in stuck]


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
        self.session = session
        self.store = store
        self.workspace = workspace
        self.focus: str | None = None  # the issue under review; the foreman's tools may act on it only
        session.hooks.register("tool:pre", self._only_the_focus, name="foreman-review-focus")

    async def _only_the_focus(self, event: str, data: dict) -> HookResult:
        """A ``tool:pre`` hook: during a review, a call naming another issue is denied (small models
        otherwise unblock whichever id they saw last, and a ping-pong on that issue is never caught)."""
        wanted = (data.get("arguments") or {}).get("id")
        if self.focus is None or wanted in (None, self.focus):
            return HookResult()
        return HookResult(action="deny", reason=f"this review is about {self.focus}; act on {self.focus} only")

    async def review(self) -> RunState:
        """Review every blocked and dead-letter issue not waiting for a human; returns the run state.

        An issue a person answered since the foreman's last try or escalation is handed back first
        (try count and ``needs_human`` cleared), then reviewed like a new one.
        """
        for issue in await reads.read(self.store, self.store.list, statuses=[Status.BLOCKED, Status.DEAD_LETTER]):
            seen = await asyncio.to_thread(returns, self.store, issue.id)
            if answered(issue, seen):
                issue = await asyncio.to_thread(self._bookkeep, issue, seen, {NEEDS_HUMAN: None, TRIES: None})
            if not needs_human(issue):
                await self._review_one(issue, seen)
        return await reads.read(self.store, run_state, self.store)

    async def _review_one(self, issue: Issue, seen: Returns) -> None:
        returned = seen.foreman_unblocks if issue.status == Status.BLOCKED else seen.foreman_reopens
        if returned >= MAX_FOREMAN_TRIES:  # block/unblock ping-pong, or dead letter/reopen: the foreman's help did not help
            await asyncio.to_thread(self._hand_to_human, issue, seen)
            return
        detail = await asyncio.to_thread(self.store.show, issue.id)
        if issue.status == Status.DEAD_LETTER and detail.attempts and detail.attempts[-1].outcome == OVER_BUDGET:
            advice = (f"It ran out of its budget ({detail.attempts[-1].error}); a retry would spend more. Raise it "
                      f"with `foreman issues update {issue.id} --budget KEY=VALUE`, then `foreman issues reopen {issue.id}`.")
            await asyncio.to_thread(self._hand_to_human, issue, seen, advice)
            return
        if issue.status == Status.BLOCKED:
            notes = [f"{n.author}: {n.body}" for n in detail.notes]
            listing = await asyncio.to_thread(workspace_listing, self.workspace, issue.blocking_notes or issue.title)
            prompt = unblock_prompt(issue, notes, listing)
        else:
            prompt = retry_prompt(issue, [f"#{a.number} {a.worker}: {a.error or a.outcome}" for a in detail.attempts])
        self.focus = issue.id
        try:
            await self.session.execute(prompt)
        except RuntimeError as exc:
            await asyncio.to_thread(self.store.note, issue.id, f"foreman review failed: {exc}", author=FOREMAN)
        finally:
            self.focus = None
        after = await asyncio.to_thread(self.store.get, issue.id)
        if after.status == issue.status:
            await asyncio.to_thread(self._count_try, after, seen)

    def _bookkeep(self, issue: Issue, seen: Returns, changes: dict[str, object]) -> Issue:
        """Write the foreman's metadata ``changes`` with the number of a person's answers they count from."""
        return self.store.update(issue.id, IssueUpdate(metadata=changes | {ANSWERS: seen.answers}), actor=FOREMAN)

    def _count_try(self, issue: Issue, seen: Returns) -> None:
        tries = int(issue.metadata.get(TRIES, 0)) + 1
        issue = self._bookkeep(issue, seen, {TRIES: tries})
        if tries >= MAX_FOREMAN_TRIES:
            self._hand_to_human(issue, seen)

    def _hand_to_human(self, issue: Issue, seen: Returns, advice: str | None = None) -> None:
        self._bookkeep(issue, seen, {NEEDS_HUMAN: True})
        action = "unblock" if issue.status == Status.BLOCKED else "reopen"
        advice = advice or f"The foreman could not resolve it. Run `foreman issues {action} {issue.id} \"...\"`."
        self.store.note(issue.id, f"Needs a human: {advice}", author=FOREMAN)
