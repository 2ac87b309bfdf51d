"""Task files (issue 12): the shipped examples load and fit the default plans; budgets and timeouts land
in the metadata keys the runtime's enforcement reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from foreman.cli.init import EXAMPLE_TASKS
from foreman.planner import PlanningError, check_tasks
from foreman.runtime.plans import load_plans
from foreman.runtime.tasks import Budget, TaskSpec, load_tasks

EXAMPLES = sorted((Path(__file__).parents[2] / "examples").glob("*.*")) + [EXAMPLE_TASKS]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_shipped_task_file_loads_and_every_task_is_taken_by_a_default_plan(path):
    check_tasks(load_tasks(path), [p for p in load_plans() if p.fleet.role == "worker"])


def test_budget_and_timeout_become_the_metadata_the_enforcement_reads():
    task = TaskSpec(id="t", title="T", worker_type="coding", timeout=30, budget=Budget(max_tokens=9000, max_cost_usd=0.2))
    meta = task.new_issue().metadata
    assert meta["budget"] == {"max_tokens": 9000, "max_cost_usd": 0.2} and meta["call_timeout"] == 30
    assert "budget" not in TaskSpec(title="T").new_issue().metadata


def test_a_cycle_through_a_parent_is_refused_before_anything_is_created():
    tasks = [TaskSpec(id="epic", title="E", type="epic"), TaskSpec(id="child", title="C", parent="epic", depends_on=["epic"])]
    with pytest.raises(PlanningError, match="a cycle, each waits on the next"):
        check_tasks(tasks, [])
