"""A claimer killed with SIGKILL: after its lease the issue is claimable again, nothing is lost."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import time

import pytest

from foreman.issues import NewIssue, Status, open_store
from foreman.issues.errors import NothingReady, StaleToken

TTL = 1.5  # seconds


def _claim_note_and_hang(db: str, report) -> None:
    store = open_store(db)
    claim = store.claim_next("doomed", ttl=TTL)
    store.note(claim.issue.id, "found the cause in auth.py", token=claim.token)
    report.put((claim.issue.id, claim.token))
    time.sleep(3600)


def _wait_for_claim(store, worker: str, deadline_s: float):
    end = time.monotonic() + deadline_s
    while True:
        try:
            return store.claim_next(worker, ttl=30)
        except NothingReady:
            if time.monotonic() > end:
                raise
            time.sleep(0.05)


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL")
def test_killed_claimer_loses_its_issue_but_not_its_notes(db):
    store = open_store(db, create=True)
    issue = store.create(NewIssue(title="fix login bug"))
    ctx = mp.get_context("spawn")
    report = ctx.Queue()
    proc = ctx.Process(target=_claim_note_and_hang, args=(db, report))
    proc.start()
    issue_id, dead_token = report.get(timeout=60)
    os.kill(proc.pid, signal.SIGKILL)
    proc.join(timeout=10)
    assert proc.exitcode == -signal.SIGKILL
    assert store.get(issue_id).status == Status.IN_PROGRESS

    survivor = _wait_for_claim(store, "survivor", deadline_s=30)

    assert survivor.issue.id == issue.id and survivor.token > dead_token
    with pytest.raises(StaleToken):
        store.close(issue_id, token=dead_token, reason="late write from the dead")
    detail = store.show(issue_id)
    assert [n.body for n in detail.notes] == ["found the cause in auth.py"]
    assert [(a.worker, a.outcome) for a in detail.attempts] == [("doomed", "lease_expired"), ("survivor", None)]
    store.close(issue_id, token=survivor.token, reason="fixed")
    assert store.get(issue_id).status == Status.CLOSED
