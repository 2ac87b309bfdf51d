"""The issue store's contract, run against a file-backed and an in-memory SQLite database and PostgreSQL."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone

import pytest

from foreman.issues import DependencyType, EventKind, IssueFilter, IssueUpdate, NewIssue, Status, open_store
from foreman.issues.errors import (
    ClaimConflict,
    DatabaseMissing,
    DatabaseUnreadable,
    DependencyCycle,
    IllegalTransition,
    InvalidInput,
    IssueNotFound,
    LeaseExpired,
    NotReady,
    NothingReady,
    SchemaTooNew,
    StaleToken,
)


def make(store, title="t", **fields):
    return store.create(NewIssue(title=title, **fields))


# -- ready queue and dependencies ---------------------------------------------------------


def test_ready_orders_by_priority_then_age(store, clock):
    low = make(store, "low", priority=3)
    clock.advance(1)
    urgent = make(store, "urgent", priority=0)
    clock.advance(1)
    urgent_later = make(store, "urgent later", priority=0)
    assert [i.id for i in store.ready()] == [urgent.id, urgent_later.id, low.id]


def test_blocks_gates_until_the_blocker_closes(store):
    blocker, waiter = make(store, "blocker"), make(store, "waiter")
    store.dep_add(waiter.id, blocker.id, DependencyType.BLOCKS)
    assert [i.id for i in store.ready()] == [blocker.id]
    with pytest.raises(NotReady):
        store.claim(waiter.id, "w1")
    store.close(blocker.id, reason="done")
    assert [i.id for i in store.ready()] == [waiter.id]


def test_parent_waits_for_all_children(store):
    parent, a, b = make(store, "parent", type="epic"), make(store, "a"), make(store, "b")
    store.dep_add(a.id, parent.id, DependencyType.PARENT_CHILD)
    store.dep_add(b.id, parent.id, DependencyType.PARENT_CHILD)
    assert parent.id not in {i.id for i in store.ready()}
    store.close(a.id)
    assert parent.id not in {i.id for i in store.ready()}
    store.close(b.id)
    assert parent.id in {i.id for i in store.ready()}


def test_related_and_discovered_from_do_not_gate(store):
    a, b = make(store, "a"), make(store, "b")
    store.dep_add(a.id, b.id, DependencyType.RELATED)
    store.dep_add(b.id, a.id, DependencyType.DISCOVERED_FROM)
    assert {i.id for i in store.ready()} == {a.id, b.id}


def test_dead_letter_blocker_still_blocks(store, clock):
    blocker, waiter = make(store, "blocker", max_attempts=1), make(store, "waiter")
    store.dep_add(waiter.id, blocker.id)
    claim = store.claim(blocker.id, "w1", ttl=5)
    store.fail(blocker.id, claim.token, error="boom")
    assert store.get(blocker.id).status == Status.DEAD_LETTER
    assert store.ready() == []


@pytest.mark.parametrize(
    "edges",
    [
        [("a", "b", "blocks"), ("b", "a", "blocks")],
        [("a", "b", "blocks"), ("b", "c", "blocks"), ("c", "a", "blocks")],
        # a waits for b; a is b's child, so b (the parent) waits for a: deadlock.
        [("a", "b", "blocks"), ("a", "b", "parent-child")],
        [("child", "parent", "parent-child"), ("child", "parent", "blocks")],
    ],
)
def test_cycles_are_refused(store, edges):
    ids = {name: make(store, name).id for edge in edges for name in edge[:2]}
    *first, last = edges
    for a, b, kind in first:
        store.dep_add(ids[a], ids[b], DependencyType(kind))
    with pytest.raises(DependencyCycle):
        store.dep_add(ids[last[0]], ids[last[1]], DependencyType(last[2]))
    assert len(store.show(ids[last[0]]).dependencies) == sum(1 for a, *_ in first if a == last[0])


def test_self_dependency_and_unknown_ids_are_refused(store):
    a = make(store)
    with pytest.raises(InvalidInput):
        store.dep_add(a.id, a.id)
    with pytest.raises(IssueNotFound):
        store.dep_add(a.id, "fm-none")


def test_dep_remove_ungates_and_logs(store):
    a, b = make(store, "a"), make(store, "b")
    store.dep_add(a.id, b.id)
    store.dep_remove(a.id, b.id)
    assert {i.id for i in store.ready()} == {a.id, b.id}
    kinds = [e.kind for e in store.events(a.id)]
    assert kinds[-2:] == [EventKind.DEPENDENCY_ADDED, EventKind.DEPENDENCY_REMOVED]
    with pytest.raises(IssueNotFound):
        store.dep_remove(a.id, b.id)


def test_filters_on_metadata_labels_and_type(store):
    coding = make(store, "c", metadata={"worker_type": "coding", "size": 3}, labels=["backend", "auth"])
    research = make(store, "r", type="research", metadata={"worker_type": "research"})
    assert [i.id for i in store.ready(IssueFilter(metadata={"worker_type": "coding"}))] == [coding.id]
    assert [i.id for i in store.ready(IssueFilter(metadata={"size": 3}))] == [coding.id]
    assert [i.id for i in store.ready(IssueFilter(labels=["backend", "auth"]))] == [coding.id]
    assert store.ready(IssueFilter(labels=["backend", "frontend"])) == []
    assert [i.id for i in store.ready(IssueFilter(types=["research"]))] == [research.id]
    with pytest.raises(InvalidInput):
        store.ready(IssueFilter(metadata={"bad key'": 1}))


# -- claims, fencing and leases -----------------------------------------------------------


def test_claim_gives_increasing_tokens_and_records_attempts(store, clock):
    issue = make(store)
    first = store.claim(issue.id, "w1", ttl=10)
    store.release(first.issue.id, first.token, reason="shutting down")
    second = store.claim(issue.id, "w2", ttl=10)
    assert second.token > first.token
    attempts = store.attempts(issue.id)
    assert [(a.worker, a.outcome) for a in attempts] == [("w1", "released"), ("w2", None)]


def test_second_claim_conflicts(store):
    issue = make(store)
    store.claim(issue.id, "w1")
    with pytest.raises(ClaimConflict):
        store.claim(issue.id, "w2")
    with pytest.raises(NothingReady):
        store.claim_next("w2")


def test_stale_token_is_refused_for_every_fenced_write(store):
    issue = make(store)
    claim = store.claim(issue.id, "w1")
    stale = claim.token + 1
    for write in (
        lambda: store.note(issue.id, "x", token=stale),
        lambda: store.heartbeat(issue.id, stale),
        lambda: store.block(issue.id, "why", token=stale),
        lambda: store.close(issue.id, token=stale),
        lambda: store.release(issue.id, stale),
        lambda: store.fail(issue.id, stale, error="e"),
    ):
        with pytest.raises(StaleToken):
            write()
    assert store.get(issue.id).status == Status.IN_PROGRESS


def test_fenced_writes_on_a_live_claim_log_the_holder_as_actor_with_the_claims_token(store):
    renewed, blocked, closed = make(store, "renewed"), make(store, "blocked"), make(store, "closed")
    claims = {issue.id: store.claim(issue.id, f"w-{issue.title}") for issue in (renewed, blocked, closed)}
    store.heartbeat(renewed.id, claims[renewed.id].token)
    assert store.block(blocked.id, "needs a key", token=claims[blocked.id].token).assignee == "w-blocked"
    assert store.close(closed.id, token=claims[closed.id].token, reason="done").close_reason == "done"
    for issue_id, kind, target in ((renewed.id, EventKind.LEASE_RENEWED, "in_progress"),
                                   (blocked.id, EventKind.BLOCKED, "blocked"), (closed.id, EventKind.CLOSED, "closed")):
        [event] = store.events(issue_id, kinds=[kind])
        assert (event.actor, event.data) == (claims[issue_id].worker,
                                             {"from": "in_progress", "to": target, "token": claims[issue_id].token})
    assert store.get(closed.id).assignee == "w-closed" and store.get(closed.id).lease_expires_at is None


def test_operator_cannot_take_a_claimed_issue(store):
    issue = make(store)
    store.claim(issue.id, "w1")
    with pytest.raises(ClaimConflict):
        store.close(issue.id, reason="mine now")


def test_times_read_back_as_seconds_even_past_the_millisecond_guess(store, clock):
    clock.advance(3e10 - clock.now())  # the year 2920: pydantic would guess that a number past 2e10 is milliseconds
    issue = make(store)
    claim = store.claim(issue.id, "w1", ttl=60)
    closed = store.close(issue.id, token=claim.token, reason="done")
    assert issue.created_at == datetime.fromtimestamp(3e10, tz=timezone.utc)
    assert claim.lease_expires_at == datetime.fromtimestamp(3e10 + 60, tz=timezone.utc)
    assert closed.closed_at == store.get(issue.id).closed_at == issue.created_at


def test_heartbeat_extends_the_lease(store, clock):
    issue = make(store)
    claim = store.claim(issue.id, "w1", ttl=10)
    clock.advance(8)
    store.heartbeat(issue.id, claim.token, ttl=10)
    clock.advance(8)
    assert store.sweep() == []
    store.close(issue.id, token=claim.token, reason="done")
    assert store.get(issue.id).status == Status.CLOSED


def test_heartbeat_many_renews_each_live_claim_and_reports_each_refusal_in_one_transaction(store, clock):
    live, stale, late = make(store, "live"), make(store, "stale"), make(store, "late")
    held = store.claim(live.id, "w1", ttl=10)
    store.claim(stale.id, "w2", ttl=100)
    lapsing = store.claim(late.id, "w3", ttl=5)
    clock.advance(6)
    outcomes = store.heartbeat_many([(live.id, held.token, 30), (stale.id, 99, 30), (late.id, lapsing.token, 30)])
    renewed, refused, expired = outcomes
    assert renewed.id == live.id and renewed.lease_expires_at == store.get(live.id).lease_expires_at
    assert isinstance(refused, StaleToken) and isinstance(expired, LeaseExpired)
    clock.advance(20)  # past the first lease (10 s) but inside the renewed one (30 s)
    assert store.sweep() == []
    assert store.get(stale.id).assignee == "w2", "a refused renewal leaves the claim as it was"
    assert store.get(late.id).status == Status.OPEN and store.attempts(late.id)[0].outcome == "lease_expired"
    assert [e.kind for e in store.events(live.id)][-1] == EventKind.LEASE_RENEWED


def test_expired_lease_returns_the_issue_and_refuses_late_writes(store, clock):
    issue = make(store)
    claim = store.claim(issue.id, "w1", ttl=10)
    store.note(issue.id, "half done", token=claim.token)
    clock.advance(11)
    with pytest.raises(LeaseExpired):
        store.close(issue.id, token=claim.token, reason="too late")
    after = store.get(issue.id)
    assert after.status == Status.OPEN and after.assignee is None
    with pytest.raises(StaleToken):
        store.note(issue.id, "later still", token=claim.token)
    assert [n.body for n in store.show(issue.id).notes] == ["half done"]
    assert store.attempts(issue.id)[0].outcome == "lease_expired"


def test_claim_sweeps_lazily_and_dead_letters_after_max_attempts(store, clock):
    issue = make(store, max_attempts=2)
    for worker in ("w1", "w2"):
        store.claim_next(worker, ttl=5)
        clock.advance(6)
    with pytest.raises(NothingReady):
        store.claim_next("w3")  # the lazy sweep moved it to dead letter, not back to the queue
    assert store.get(issue.id).status == Status.DEAD_LETTER
    assert [a.outcome for a in store.attempts(issue.id)] == ["lease_expired", "lease_expired"]
    store.reopen(issue.id, reason="try with more context")
    assert store.claim_next("w3").issue.id == issue.id


def test_claims_between_sweeps_never_take_a_live_lease_and_an_expired_one_comes_back_at_once(store, clock):
    first, second, third = (store.create(NewIssue(title=t, priority=p)) for t, p in (("a", 0), ("b", 1), ("c", 2)))
    assert store.claim_next("w1", ttl=0.5).issue.id == first.id  # this claim swept
    clock.advance(0.6)  # first's lease ran out, less than SWEEP_INTERVAL after that sweep
    assert store.claim_next("w2", ttl=60).issue.id == second.id  # no sweep: other work was ready
    assert store.claim_next("w3", ttl=0.5).issue.id == third.id
    again = store.claim_next("w4", ttl=60)  # nothing else ready: it sweeps at once and takes first
    assert again.issue.id == first.id and again.token == 2
    clock.advance(0.6)  # third's lease ran out since that sweep; a claim by id sweeps when refused
    taken = store.claim(third.id, "w5", ttl=60)
    assert taken.worker == "w5" and taken.token == 2
    assert [a.outcome for a in store.attempts(first.id)] == ["lease_expired", None]
    assert store.get(second.id).assignee == "w2", "a live lease is never handed out"


def test_sweep_returns_what_it_expired(store, clock):
    a, b = make(store, "a"), make(store, "b")
    store.claim(a.id, "w1", ttl=5)
    store.claim(b.id, "w2", ttl=50)
    clock.advance(10)
    assert [i.id for i in store.sweep()] == [a.id]


def test_invalid_ttl_is_refused(store):
    issue = make(store)
    with pytest.raises(InvalidInput):
        store.claim(issue.id, "w1", ttl=0)
    assert store.get(issue.id).status == Status.OPEN


# -- block, unblock, close, reopen, update --------------------------------------------------


def test_worker_blocks_and_foreman_unblocks(store):
    issue = make(store)
    claim = store.claim(issue.id, "w1")
    blocked = store.block(issue.id, "need the DB schema", token=claim.token)
    assert blocked.status == Status.BLOCKED and blocked.blocking_notes == "need the DB schema"
    assert store.ready() == []
    store.unblock(issue.id, "schema is in docs/schema.sql", actor="foreman")
    detail = store.show(issue.id)
    assert detail.issue.status == Status.OPEN and detail.issue.blocking_notes is None
    assert [n.body for n in detail.notes] == ["Blocked: need the DB schema", "Unblocked: schema is in docs/schema.sql"]
    assert store.attempts(issue.id)[0].outcome == "blocked"


def test_created_blocked_and_illegal_transitions(store):
    issue = make(store, blocked_reason="waiting for credentials")
    assert issue.status == Status.BLOCKED
    with pytest.raises(IllegalTransition):
        store.claim(issue.id, "w1")
    with pytest.raises(IllegalTransition):
        store.reopen(issue.id)
    store.close(issue.id, reason="not needed")
    with pytest.raises(IllegalTransition):
        store.close(issue.id)
    assert store.reopen(issue.id, reason="needed after all").status == Status.OPEN


def test_update_merges_metadata(store):
    issue = make(store, metadata={"worker_type": "coding", "size": 1})
    updated = store.update(issue.id, IssueUpdate(priority=0, metadata={"size": None, "area": "auth"}))
    assert updated.priority == 0 and updated.metadata == {"worker_type": "coding", "area": "auth"}
    with pytest.raises(InvalidInput):
        store.update(issue.id, IssueUpdate())


def test_every_change_writes_one_event_in_order(store):
    issue = make(store)
    claim = store.claim(issue.id, "w1")
    store.note(issue.id, "n", token=claim.token)
    store.heartbeat(issue.id, claim.token)
    store.close(issue.id, token=claim.token, reason="done")
    kinds = [e.kind.value for e in store.events(issue.id)]
    assert kinds == ["created", "claimed", "noted", "lease_renewed", "closed"]
    assert store.events(issue.id)[1].data == {"from": "open", "to": "in_progress", "token": 1, "assignee": "w1", "ttl": 120.0}


def test_unknown_id_everywhere(store):
    for call in (lambda: store.get("fm-zz"), lambda: store.claim("fm-zz", "w"), lambda: store.note("fm-zz", "x"),
                 lambda: store.unblock("fm-zz"), lambda: store.events("fm-zz")):
        with pytest.raises(IssueNotFound):
            call()


# -- storage faults ---------------------------------------------------------------------------


def test_missing_database_is_not_created_by_readers(tmp_path):
    path = tmp_path / "nope.db"
    with pytest.raises(DatabaseMissing) as err:
        open_store(path)
    assert not path.exists()
    assert "delete" not in err.value.message and "init" not in err.value.message


def test_corrupt_database_is_refused_untouched(tmp_path):
    path = tmp_path / "issues.db"
    path.write_bytes(b"this is not sqlite" * 100)
    before = path.read_bytes()
    with pytest.raises(DatabaseUnreadable) as err:
        open_store(path, create=True)
    assert path.read_bytes() == before
    assert "delete" not in err.value.message.lower()


def test_foreign_sqlite_database_is_not_adopted(tmp_path):
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE mine (x)")
    with pytest.raises(DatabaseUnreadable):
        open_store(path, create=True)


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "issues.db"
    open_store(path, create=True).disconnect()
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA user_version = 999")
    with pytest.raises(SchemaTooNew):
        open_store(path)


def test_rows_are_never_deleted(tmp_path):
    path = tmp_path / "issues.db"
    s = open_store(path, create=True)
    issue = s.create(NewIssue(title="keep me"))
    s.note(issue.id, "keep me too")
    s.disconnect()
    with sqlite3.connect(path) as conn:
        for sql in ("DELETE FROM issues", "DELETE FROM notes", "UPDATE notes SET body = 'x'", "DELETE FROM events"):
            with pytest.raises(sqlite3.IntegrityError):
                conn.execute(sql)


def test_fleet_state_is_shared_between_connections(tmp_path):
    path = tmp_path / "issues.db"
    first = open_store(path, create=True)
    assert first.get_state("run_over", False) is False
    first.set_state("run_over", {"at": 1})
    assert open_store(path).get_state("run_over") == {"at": 1}


def test_version_1_database_is_migrated_keeping_its_issues(tmp_path):
    from foreman.issues.sql_queries import migrations

    path = tmp_path / "v1.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(migrations()[0][1] + "\nPRAGMA user_version = 1;")
        conn.execute("INSERT INTO issues (id, title, type, priority, status, created_at, updated_at)"
                     " VALUES ('fm-old1', 'old', 'task', 2, 'open', 0, 0)")
    store = open_store(path)
    assert store.get("fm-old1").title == "old"
    store.set_state("planned", True)
    assert store.get_state("planned") is True
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == migrations()[-1][0]
