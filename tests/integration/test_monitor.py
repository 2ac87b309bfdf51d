"""The foreman's escalation to a human, and a human's answer handing the issue back (issue 7, defect 16).

Real SQLite store and the real Monitor; the foreman's session is a FAKE (``FakeForeman``: it records
each review prompt and answers HUMAN, or unblocks when told to), so every review is visible.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace

import pytest

from foreman.issues import NewIssue, Status, open_store
from foreman.issues.identity import RUNTIME_ACTOR
from foreman.monitor import MAX_FOREMAN_TRIES, NEEDS_HUMAN, TRIES, Monitor, returns, run_state


class FakeForeman:
    """A FAKE foreman session: records prompts; answers HUMAN, or unblocks the issue as the foreman."""

    def __init__(self, store, unblocks: bool = False) -> None:
        self.store = store
        self.unblocks = unblocks
        self.prompts: list[str] = []
        self.hooks = SimpleNamespace(register=lambda *args, **kwargs: None)

    async def execute(self, prompt: str) -> str:
        self.prompts.append(prompt)
        if self.unblocks:
            issue_id = prompt.split()[1]
            await asyncio.to_thread(self.store.unblock, issue_id, "try the staging password", actor="foreman")
        return "HUMAN"


@pytest.fixture
def store(tmp_path):
    s = open_store(tmp_path / "issues.db", create=True)
    yield s
    s.disconnect()


def _block_by_worker(store, issue_id: str) -> None:
    claim = store.claim(issue_id, "coding-1")
    store.block(issue_id, "I need the production password", token=claim.token)


def _review(store, session, times: int = 1) -> None:
    monitor = Monitor(session, store, Path("."))
    for _ in range(times):
        asyncio.run(monitor.review())


def test_a_human_unblock_hands_the_issue_back_and_its_next_block_is_reviewed(store):
    issue = store.create(NewIssue(title="Rotate the password"))
    _block_by_worker(store, issue.id)
    foreman = FakeForeman(store)
    _review(store, foreman, times=MAX_FOREMAN_TRIES + 1)
    assert len(foreman.prompts) == MAX_FOREMAN_TRIES, "handed to a human, then left alone"
    assert [i.id for i in run_state(store).waiting_for_human] == [issue.id]

    store.unblock(issue.id, "the password is in the vault", actor="ada")
    _block_by_worker(store, issue.id)
    _review(store, foreman)

    assert len(foreman.prompts) == MAX_FOREMAN_TRIES + 1, "the second block is reviewed afresh"
    after = store.get(issue.id)
    assert NEEDS_HUMAN not in after.metadata and after.metadata[TRIES] == 1
    assert run_state(store).waiting_for_human == [] and not run_state(store).over


def test_a_human_reopen_of_a_dead_letter_issue_clears_the_escalation(store):
    issue = store.create(NewIssue(title="Flaky job", max_attempts=1))
    store.fail(issue.id, store.claim(issue.id, "coding-1").token, error="crashed")
    foreman = FakeForeman(store)
    _review(store, foreman, times=MAX_FOREMAN_TRIES)
    assert store.get(issue.id).metadata[NEEDS_HUMAN] is True

    store.reopen(issue.id, reason="fixed the runner", actor="operator")
    store.fail(issue.id, store.claim(issue.id, "coding-1").token, error="crashed again")
    _review(store, foreman)

    assert len(foreman.prompts) == MAX_FOREMAN_TRIES + 1
    assert NEEDS_HUMAN not in store.get(issue.id).metadata


def test_foreman_unblocks_before_a_human_answer_do_not_count_after_it(store):
    issue = store.create(NewIssue(title="Rotate the password"))
    _block_by_worker(store, issue.id)
    unblocking = FakeForeman(store, unblocks=True)
    for _ in range(MAX_FOREMAN_TRIES):  # block/unblock ping-pong: handed to a human
        _review(store, unblocking)
        _block_by_worker(store, issue.id)
    _review(store, unblocking)
    assert store.get(issue.id).metadata[NEEDS_HUMAN] is True

    store.unblock(issue.id, "use the vault", actor="ada")
    _block_by_worker(store, issue.id)
    foreman = FakeForeman(store)
    _review(store, foreman)

    assert len(foreman.prompts) == 1, "reviewed, not handed straight back to a human"


def test_only_a_person_hands_an_issue_back_and_an_answer_before_the_escalation_keeps_it(store):
    issue = store.create(NewIssue(title="Rotate the password"))
    _block_by_worker(store, issue.id)
    store.unblock(issue.id, "answered before any review", actor="ada")
    _block_by_worker(store, issue.id)
    foreman = FakeForeman(store)
    _review(store, foreman, times=MAX_FOREMAN_TRIES)
    assert store.get(issue.id).metadata[NEEDS_HUMAN] is True

    _review(store, foreman, times=2)
    assert len(foreman.prompts) == MAX_FOREMAN_TRIES, "an answer older than the escalation does not reopen reviews"

    store.unblock(issue.id, "unblocked by the runtime", actor=RUNTIME_ACTOR)
    _block_by_worker(store, issue.id)
    _review(store, foreman)
    assert len(foreman.prompts) == MAX_FOREMAN_TRIES and store.get(issue.id).status == Status.BLOCKED
    assert [i.id for i in run_state(store).waiting_for_human] == [issue.id]


def test_a_review_acts_on_its_own_issue_only(store, tmp_path):
    """A real foreman session whose FAKE model unblocks the wrong issue: the call is denied."""
    from foreman.issues.identity import WorkerIdentity
    from foreman.runtime.plans import load_plan
    from foreman.runtime.sessions import open_session
    from foreman.testing import ScriptedProvider, call

    reviewed = store.create(NewIssue(title="Rotate the password"))
    other = store.create(NewIssue(title="Other work"))
    _block_by_worker(store, reviewed.id)
    _block_by_worker(store, other.id)

    async def run() -> None:
        model = ScriptedProvider([call("issue_unblock", id=other.id, note="go"), "HUMAN"] * 2)
        session = await open_session(load_plan("foreman"), workspace=tmp_path, store=store, provider=model,
                                     identity=WorkerIdentity(name="foreman", role="foreman"))
        try:
            monitor = Monitor(session, store, tmp_path)
            await monitor._review_one(store.get(reviewed.id), returns(store, reviewed.id))
        finally:
            await session.cleanup()

    asyncio.run(run())
    assert store.get(other.id).status == Status.BLOCKED, "the review of another issue could not unblock it"


def test_later_stages_behind_an_issue_handed_to_a_human_wait_for_that_human_too(store):
    """Issue 12: a pipeline whose first stage is in dead letter is over (its later stages can never be ready)."""
    first = store.create(NewIssue(title="Requirements", max_attempts=1))
    second = store.create(NewIssue(title="Design"))
    third = store.create(NewIssue(title="Implement"))
    unrelated = store.create(NewIssue(title="Unrelated"))
    store.dep_add(second.id, first.id)
    store.dep_add(third.id, second.id)
    store.fail(first.id, store.claim(first.id, "w1").token, error="checks never passed")
    _review(store, FakeForeman(store), times=MAX_FOREMAN_TRIES + 1)
    assert {i.id for i in run_state(store).waiting_for_human} == {first.id, second.id, third.id}
    assert not run_state(store).over  # the unrelated issue is still workable
    store.close(unrelated.id)
    assert run_state(store).over


def test_an_issue_that_ran_out_of_budget_goes_to_a_human_without_a_foreman_call(store):
    issue = store.create(NewIssue(title="expensive", metadata={"budget": {"max_tokens": 100}}))
    claim = store.claim(issue.id, "coding-1")
    store.over_budget(issue.id, claim.token, reason="max_tokens 100 reached (150 tokens used)")
    foreman = FakeForeman(store)
    _review(store, foreman)

    after = store.show(issue.id)
    assert foreman.prompts == []
    assert after.issue.status == Status.DEAD_LETTER and after.issue.metadata[NEEDS_HUMAN] is True
    assert "ran out of its budget (max_tokens 100 reached" in after.notes[-1].body
    assert f"foreman issues update {issue.id} --budget" in after.notes[-1].body
    assert [i.id for i in run_state(store).waiting_for_human] == [issue.id]


class ReopeningForeman(FakeForeman):
    """A FAKE foreman session that retries every dead-letter issue it is shown (``issue_reopen``)."""

    async def execute(self, prompt: str) -> str:
        self.prompts.append(prompt)
        await asyncio.to_thread(self.store.reopen, prompt.split()[1], reason="try harder", actor="foreman")
        return "reopened"


def test_a_dead_letter_the_foreman_keeps_reopening_goes_to_a_human(store):
    issue = store.create(NewIssue(title="Write the requirements", max_attempts=1))
    foreman = ReopeningForeman(store)
    for _ in range(MAX_FOREMAN_TRIES + 1):  # fail, reopened by the foreman, fail again, ...
        store.fail(issue.id, store.claim(issue.id, "research-1").token, error="the file is missing")
        _review(store, foreman)

    assert len(foreman.prompts) == MAX_FOREMAN_TRIES, "retried twice, then handed to a human without a model call"
    after = store.get(issue.id)
    assert after.status == Status.DEAD_LETTER and after.metadata[NEEDS_HUMAN] is True
    assert [i.id for i in run_state(store).waiting_for_human] == [issue.id]
