"""Real processes (spawn) race to claim: every issue is claimed exactly once (SQLite and PostgreSQL)."""

from __future__ import annotations

import multiprocessing as mp
from collections import Counter

from foreman.issues import NewIssue, open_store
from foreman.issues.errors import ClaimConflict, NothingReady

PROCESSES = 16
ISSUES = 500


def _claim_until_empty(db: str, worker: str, barrier, results) -> None:
    store = open_store(db)
    barrier.wait()
    won = []
    while True:
        try:
            won.append(store.claim_next(worker).issue.id)
        except NothingReady:
            break
    results.put((worker, won))


def _claim_same_ids(db: str, worker: str, ids: list[str], barrier, results) -> None:
    store = open_store(db)
    barrier.wait()
    won = []
    for issue_id in ids:
        try:
            won.append(store.claim(issue_id, worker).issue.id)
        except ClaimConflict:
            pass
    results.put((worker, won))


def _race(target, db: str, extra: tuple = ()) -> dict[str, list[str]]:
    ctx = mp.get_context("spawn")
    barrier, results = ctx.Barrier(PROCESSES), ctx.Queue()
    procs = [ctx.Process(target=target, args=(db, f"w{n}", *extra, barrier, results)) for n in range(PROCESSES)]
    for p in procs:
        p.start()
    outcome = dict(results.get(timeout=240) for _ in procs)
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    return outcome


def _seed(db: str, count: int) -> tuple[str, list[str]]:
    store = open_store(db, create=True)
    ids = [store.create(NewIssue(title=f"issue {n}")).id for n in range(count)]
    store.disconnect()
    return db, ids


def test_claim_next_race_claims_each_issue_once(db):
    db, ids = _seed(db, ISSUES)
    outcome = _race(_claim_until_empty, db)
    claimed = Counter(i for won in outcome.values() for i in won)
    assert set(claimed) == set(ids)
    assert max(claimed.values()) == 1
    store = open_store(db)
    assert len(store.events(kinds=["claimed"])) == ISSUES
    assert {a.worker for i in ids[:20] for a in store.attempts(i)} <= set(outcome)


def test_same_id_race_has_one_winner_per_issue(db):
    db, ids = _seed(db, 100)
    outcome = _race(_claim_same_ids, db, (ids,))
    claimed = Counter(i for won in outcome.values() for i in won)
    assert set(claimed) == set(ids) and max(claimed.values()) == 1
    store = open_store(db)
    assert all(store.get(i).assignee in outcome and store.get(i).fence == 1 for i in ids)
