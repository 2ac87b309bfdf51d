"""Task lists become issues directly and idempotently; tasks and model-made issues no worker takes are refused."""

from __future__ import annotations

import asyncio

import pytest

from foreman import routing
from foreman.issues import IssueFilter, IssueType, NewIssue, Status, open_store
from foreman.issues.errors import InvalidInput
from foreman.planner import PlanningError, check_tasks, create_task_issues
from foreman.runtime.plans import load_plans
from foreman.runtime.tasks import TASK_KEY, TaskSpec
from tests.support.seed import SEED_TASKS


@pytest.fixture
def worker_plans():
    return [p for p in load_plans() if p.fleet.role == "worker"]


def test_task_list_issues_are_created_as_listed_and_only_once():
    store = open_store(":memory:", create=True)

    first = create_task_issues(store, SEED_TASKS)
    again = create_task_issues(store, SEED_TASKS)

    issues = store.list()
    assert first == [] and len(issues) == len(SEED_TASKS)
    assert again == [f"5 of 5 tasks were already in the queue and were not created again: "
                     f"{', '.join(i.id for i in issues)}"]
    for task, issue in zip(SEED_TASKS, issues):
        assert (issue.title, issue.description, issue.acceptance_criteria) == (task.title, task.description, task.acceptance)
        assert (issue.type, issue.priority, issue.metadata) == (task.type, task.priority,
                                                                 {"worker_type": task.worker_type, TASK_KEY: task.key})
        assert issue.status == (Status.BLOCKED if task.blocked_reason else Status.OPEN)
    assert not any(store.show(i.id).notes for i in issues if i.status == Status.OPEN), "no repair notes"


def test_a_batch_is_one_transaction_and_every_entry_needs_its_key():
    store = open_store(":memory:", create=True)
    with pytest.raises(InvalidInput, match="task_key"):
        store.create_keyed([SEED_TASKS[0].new_issue(), NewIssue(title="no key")], key=TASK_KEY)
    assert store.list() == []


def test_task_key_is_its_id_or_a_hash_of_its_title():
    plain = TaskSpec(title="Fix  the Bug", worker_type="coding")
    assert plain.key == TaskSpec(title="fix the bug", worker_type="research").key
    assert plain.key != TaskSpec(title="Fix the bugs", worker_type="coding").key
    assert TaskSpec(title="Fix the bug", id="T-1", worker_type="coding").key == "T-1"


def test_a_task_no_worker_plan_takes_is_refused_naming_the_plans_worker_types(worker_plans):
    tasks = [SEED_TASKS[0], TaskSpec(title="Draw the logo", worker_type="design")]
    with pytest.raises(PlanningError, match=r"'Draw the logo' \(worker_type 'design'\).*worker types: coding, research"):
        check_tasks(tasks, worker_plans)
    check_tasks(SEED_TASKS, worker_plans)


def test_two_tasks_with_one_key_are_refused(worker_plans):
    tasks = [TaskSpec(title="Fix it", worker_type="coding"), TaskSpec(title="fix it", worker_type="coding")]
    with pytest.raises(PlanningError, match="share a key"):
        check_tasks(tasks, worker_plans)
    check_tasks([t.model_copy(update={"id": f"t{n}"}) for n, t in enumerate(tasks)], worker_plans)


def test_the_python_filter_agrees_with_the_claim_filter_and_none_of_in_sql(store):
    made = [
        store.create(NewIssue(title="a", type=IssueType.BUG, labels=["x", "y"], metadata={"worker_type": "coding"})),
        store.create(NewIssue(title="b", labels=["x"], metadata={"worker_type": "research", "n": 2})),
        store.create(NewIssue(title="c")),
    ]
    filters = [IssueFilter(), IssueFilter(types=[IssueType.BUG]), IssueFilter(labels=["x", "y"]),
               IssueFilter(metadata={"worker_type": "research"}), IssueFilter(metadata={"n": 2}),
               IssueFilter(labels=["x"], metadata={"worker_type": "coding"})]
    for where in filters:
        in_sql = {i.id for i in store.ready(where)}
        assert {i.id for i in made if routing.matches(where, i)} == in_sql, where
    for n in range(len(filters)):  # none_of: what route_untaken hands to a human (c has no worker_type: NULL in SQL)
        plans = filters[n:n + 2]
        untaken = {i.id for i in store.list(statuses=[Status.OPEN], none_of=plans)}
        assert {i.id for i in made if not any(routing.matches(w, i) for w in plans)} == untaken, plans
    assert {i.title for i in store.list(none_of=filters[3:5])} == {"a", "c"}


def test_the_foreman_model_is_refused_an_issue_no_worker_takes(worker_plans):
    hook = routing.refuse_untaken_creates(worker_plans)

    def decide(**arguments):
        return asyncio.run(hook("tool:pre", {"tool_name": "issue_create", "arguments": arguments}))

    denied = decide(title="Draw the logo", worker_type="design")
    assert denied.action == "deny" and "'design'" in denied.reason and "coding, research" in denied.reason
    assert decide(title="No type at all").action == "deny"
    assert decide(title="Fix it", worker_type="coding").action != "deny"
    assert asyncio.run(hook("tool:pre", {"tool_name": "issue_note", "arguments": {}})).action != "deny"
