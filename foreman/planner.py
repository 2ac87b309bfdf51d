"""The foreman's first job: turn a goal (or a task file) into issues in the queue.

The foreman SESSION creates the issues through ``issue_create``. With a task list, the runtime then
checks the result against the list and repairs what the model got wrong (creates a missing issue;
sets description, acceptance criteria, type, priority and ``worker_type`` as listed; blocks an issue
that should start blocked and unblocks one that should not), writing a note on each repair, so a
small model cannot derail the run. With a free goal, what the model creates stands.
"""

from __future__ import annotations

import asyncio

from foreman.issues import Issue, IssueStore, IssueUpdate, Status
from foreman.issues.identity import RUNTIME_ACTOR
from foreman.sessions import FleetSession
from foreman.tasks import TaskSpec



class PlanningError(RuntimeError):
    """The foreman produced no issue for a free-text goal."""


def _task_line(n: int, task: TaskSpec) -> str:
    parts = [f'{n}. title="{task.title}"', f"worker_type={task.worker_type}", f"priority={task.priority}",
             f"type={task.type.value}", f'description="{task.description}"']
    if task.blocked_reason:
        parts.append(f'blocked_reason="{task.blocked_reason}"')
    return ", ".join(parts)


def tasks_prompt(tasks: list[TaskSpec]) -> str:
    """Ask the foreman to create exactly these issues."""
    lines = [_task_line(n, t) for n, t in enumerate(tasks, 1)]
    return "Create these issues in the work queue, one issue_create call per issue, then say done:\n" + "\n".join(lines)


def goal_prompt(goal: str, worker_types: list[str]) -> str:
    """Ask the foreman to break a goal into issues for the available worker types."""
    return (f"Goal: {goal}\nBreak it into 2 to 7 issues a single worker can finish, and create each with "
            f"issue_create. Set worker_type to one of: {', '.join(worker_types)}. Then say done.")


async def plan_issues(session: FleetSession, store: IssueStore, *, tasks: list[TaskSpec] | None, goal: str | None,
                      worker_types: list[str]) -> list[Issue]:
    """Run the foreman's planning turn; returns the issues that exist afterwards.

    Raises:
        PlanningError: with a free goal, the foreman created no issue (or its session failed).
    """
    prompt = tasks_prompt(tasks) if tasks else goal_prompt(goal or "", worker_types)
    try:
        await session.execute(prompt)
    except RuntimeError as exc:
        if not tasks:
            raise PlanningError(f"the foreman's planning turn failed: {exc}") from exc
    if tasks:
        await asyncio.to_thread(reconcile, store, tasks)
    issues = await asyncio.to_thread(store.list)
    if not issues:
        raise PlanningError("the foreman created no issue for the goal; try a more concrete goal or a task file")
    return issues


def reconcile(store: IssueStore, tasks: list[TaskSpec]) -> list[str]:
    """Make the queue hold every task as specified; returns a description of each repair."""
    by_title = {i.title.strip().lower(): i for i in store.list()}
    repairs = []
    for task in tasks:
        issue = by_title.get(task.title.strip().lower())
        if issue is None:
            issue = store.create(task.new_issue(), actor=RUNTIME_ACTOR)
            repairs.append(_note(store, issue.id, "created by the runtime: the foreman model did not create it"))
            continue
        changes = _differences(issue, task)
        if changes:
            store.update(issue.id, IssueUpdate(**changes), actor=RUNTIME_ACTOR)
            repairs.append(_note(store, issue.id, f"{', '.join(sorted(changes))} set from the task list by the runtime"))
        if task.blocked_reason and issue.status == Status.OPEN:
            store.block(issue.id, task.blocked_reason, actor=RUNTIME_ACTOR)
            repairs.append(_note(store, issue.id, "blocked by the runtime, as the task list says"))
        elif not task.blocked_reason and issue.status == Status.BLOCKED:
            store.unblock(issue.id, "the task list does not block this issue", actor=RUNTIME_ACTOR)
            repairs.append(f"{issue.id}: unblocked by the runtime")
    return repairs


def _differences(issue: Issue, task: TaskSpec) -> dict[str, object]:
    """Fields where the issue the model created differs from the task list (which wins)."""
    wanted = {"description": task.description, "acceptance_criteria": task.acceptance, "type": task.type,
              "priority": task.priority}
    changes = {field: value for field, value in wanted.items() if getattr(issue, field) != value}
    if issue.metadata.get("worker_type") != task.worker_type:
        changes["metadata"] = {"worker_type": task.worker_type}
    return changes


def _note(store: IssueStore, issue_id: str, text: str) -> str:
    store.note(issue_id, text, author=RUNTIME_ACTOR)
    return f"{issue_id}: {text}"
