"""What the dashboard's controls rely on (issue 10): revoking a claim without its token, and stop
requests that every process of a run obeys through the database."""

from __future__ import annotations

import asyncio

import pytest
from amplifier_core.testing import wait_for

from foreman.issues import NewIssue, Status, open_store
from foreman.issues.errors import IllegalTransition, InvalidInput, StaleToken
from foreman.runtime.lease import LeaseKeeper
from workers.stop_requests import follow_stop_requests, pending_stop


def test_revoke_needs_a_held_claim(store):
    issue = store.create(NewIssue(title="unclaimed"))
    with pytest.raises(IllegalTransition, match="no claim to revoke"):
        store.revoke(issue.id, reason="x")


def test_revoking_a_review_leaves_the_issue_waiting_for_another_review(store):
    issue = store.create(NewIssue(title="reviewed"))
    claim = store.claim(issue.id, "coding-1")
    store.submit(issue.id, claim.token, summary="done")
    review = store.claim_review("validator-1")
    revoked = store.revoke(issue.id, reason="reviewer hung", actor="dashboard")
    assert revoked.status == Status.IN_REVIEW and revoked.assignee == "coding-1" and revoked.lease_expires_at is None
    with pytest.raises(StaleToken):
        store.verdict(issue.id, review.token, passed=True, critical_issues=[], recommendations=[])
    assert store.claim_review("validator-2").issue.id == issue.id


async def test_the_holders_lease_keeper_cancels_its_session_after_a_revoke(tmp_path):
    store = open_store(tmp_path / "issues.db", create=True)
    issue = store.create(NewIssue(title="stuck"))
    claim = store.claim(issue.id, "coding-1", ttl=0.3)
    lost: list[str] = []

    async def on_lost(reason: str) -> None:
        lost.append(reason)

    async with LeaseKeeper(store, lambda: claim, 0.3, on_lost):
        store.revoke(issue.id, reason="stuck", actor="dashboard")
        assert await wait_for(lambda: bool(lost), timeout=10)
    assert "no longer owns the issue" in lost[0]
    store.disconnect()


def test_stop_requests_count_only_after_the_listener_started(store, clock):
    store.request_stop("graceful", actor="dashboard")
    requested = clock.now()
    clock.advance(5)
    assert pending_stop(store, requested) == "graceful"
    assert pending_stop(store, clock.now()) is None  # a later run ignores an earlier run's request
    with pytest.raises(InvalidInput):
        store.request_stop("soon")


async def test_a_graceful_stop_request_sets_stopping(tmp_path):
    store = open_store(tmp_path / "issues.db", create=True)
    stopping = asyncio.Event()
    follower = asyncio.create_task(follow_stop_requests(store, stopping, store.clock.now()))
    other = open_store(tmp_path / "issues.db")  # as the dashboard's own connection in another process would
    other.request_stop("graceful", actor="dashboard")
    await asyncio.wait_for(stopping.wait(), timeout=10)
    follower.cancel()
    other.disconnect()
    store.disconnect()
