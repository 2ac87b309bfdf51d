"""The runtime repairs what the foreman model got wrong against a task list."""

from __future__ import annotations

from foreman.issues import NewIssue, Status, open_store
from foreman.planner import reconcile
from foreman.tasks import SEED_TASKS


def test_reconcile_creates_missing_fixes_worker_type_and_blocked_state(tmp_path):
    store = open_store(":memory:", create=True)
    login, reset, pricing, onboarding, queries = SEED_TASKS
    store.create(NewIssue(title=login.title.upper(), metadata={"worker_type": "research"}))  # wrong type
    store.create(NewIssue(title=reset.title, metadata={"worker_type": "coding"}, blocked_reason="model added this"))
    store.create(NewIssue(title=queries.title, metadata={"worker_type": "coding"}))  # should start blocked

    repairs = reconcile(store, SEED_TASKS)

    by_title = {i.title.lower(): i for i in store.list()}
    assert len(by_title) == 5 and len(repairs) == 7  # 2 created, 3 field repairs, 1 unblock, 1 block
    assert by_title[login.title.lower()].metadata["worker_type"] == "coding"
    assert by_title[login.title.lower()].description == login.description
    assert by_title[login.title.lower()].priority == login.priority and by_title[login.title.lower()].type == login.type
    assert by_title[reset.title.lower()].status == Status.OPEN
    assert by_title[queries.title.lower()].status == Status.BLOCKED
    assert by_title[pricing.title.lower()].metadata == {"worker_type": "research"}
    assert all(store.show(i.id).notes for i in store.list())
    assert reconcile(store, SEED_TASKS) == [], "a second pass finds nothing to repair"
