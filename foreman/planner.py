"""The foreman's first job: turn a task list or a goal into issues in the queue.

A task list is already a plan: its issues are created directly, in one transaction, with no model
call (:func:`create_task_issues`). Each carries its task's stable key, so planning the same list
again (``--resume`` after a kill) creates nothing twice. A free goal is planned by the foreman
SESSION through ``issue_create`` (:func:`plan_goal`); what the model creates stands, except that
an ``issue_create`` no worker plan would take is refused (``foreman.routing``).
"""

from __future__ import annotations

import asyncio
from collections import Counter

from foreman import routing
from foreman.backlog import import_tasks
from foreman.issues import Issue, IssueStore
from foreman.issues.identity import RUNTIME_ACTOR
from foreman.runtime.plans import MountPlan
from foreman.runtime.sessions import FleetSession
from foreman.runtime.tasks import TaskSpec, check_graph


class PlanningError(RuntimeError):
    """The work cannot be planned: a task no worker takes, duplicate task keys, or a goal that produced no issue."""


def check_tasks(tasks: list[TaskSpec], plans: list[MountPlan]) -> None:
    """Refuse a task list before anything is created.

    Raises:
        PlanningError: two tasks share a key (same ``id``, or same title without ids), a
            ``depends_on``/``parent``/``inputs`` id that is no task or closes a cycle, or a task
            no worker plan takes (the message names the worker types the plans define).
    """
    repeated = sorted(key for key, n in Counter(t.key for t in tasks).items() if n > 1)
    if repeated:
        titles = [t.title for t in tasks if t.key in repeated]
        raise PlanningError(f"tasks {titles} share a key; give each an \"id\" or a different title")
    try:
        check_graph(tasks)
    except ValueError as exc:
        raise PlanningError(str(exc)) from None
    untaken = [t for t in tasks if not routing.taken(plans, t.new_issue())]
    if untaken:
        listed = "; ".join(f"{t.title!r} (worker_type {t.worker_type!r})" for t in untaken)
        raise PlanningError(f"no worker plan takes {listed}; the plans define worker types: "
                            f"{routing.worker_types(plans)}")


def create_task_issues(store: IssueStore, tasks: list[TaskSpec]) -> list[str]:
    """Create the task list's issues (each once) with their dependencies; returns what was not created, for the summary."""
    report = import_tasks(store, tasks, actor=RUNTIME_ACTOR)
    kept = [report.ids[t.key] for t in tasks if report.ids[t.key] not in report.created]
    lines = [f"{len(kept)} of {len(tasks)} tasks were already in the queue and were not created again: "
             f"{', '.join(kept)}"] if kept else []
    return lines + [f"{issue_id} updated from its task: {', '.join(fields)}" for issue_id, fields in report.updated.items()]


def goal_prompt(goal: str, worker_types: list[str]) -> str:
    """Ask the foreman to break a goal into issues for the available worker types."""
    return (f"Goal: {goal}\nBreak it into 2 to 7 issues a single worker can finish, and create each with "
            f"issue_create. Set worker_type to one of: {', '.join(worker_types)}. Give each issue acceptance "
            "criteria and checks: shell commands that exit 0 only when the work is done (a test command for code; "
            "'test -s FILE' for the file a research issue writes). When an issue needs another's result (a later "
            "stage), create the earlier one first and put its id in the later one's depends_on. Then say done.")


async def plan_goal(session: FleetSession, store: IssueStore, goal: str, worker_types: list[str]) -> list[Issue]:
    """Run the foreman's planning turn for a free goal; returns the issues it created.

    Raises:
        PlanningError: the foreman's session failed, or it created no issue.
    """
    before = {issue.id for issue in await asyncio.to_thread(store.list)}
    try:
        await session.execute(goal_prompt(goal, worker_types))
    except RuntimeError as exc:
        raise PlanningError(f"the foreman's planning turn failed: {exc}") from exc
    created = [issue for issue in await asyncio.to_thread(store.list) if issue.id not in before]
    if not created:
        raise PlanningError("the foreman created no issue for the goal; try a more concrete goal or a task file")
    return created
