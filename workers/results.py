"""Pipelines: what a closed issue hands on, and which issues' results a task prompt gets (issue 12, seed 002).

When a worker's close passes its checks, :func:`record_result` stores the result in the issue's
``metadata["result"]``: ``{"summary", "outputs", "files"}`` (the close summary, the named
outputs the worker gave ``issue_close``, the files its own commits changed: since the run's
base, not counting the earlier stages its branch started from).
The check evidence is already in the event log. :func:`upstream` finds the issues whose results
an issue's prompt shows: those it depends on (``blocks``) and those its task lists in ``inputs``.
"""

from __future__ import annotations

from typing import Any

from foreman.issues import DependencyType, IssueFilter, IssueStore, IssueUpdate, reads, writes
from foreman.issues.models import IssueDetail
from foreman.runtime.tasks import INPUTS, TASK_KEY
from foreman.runtime.workspace import Workspace
from workers.review import BASE_COMMIT

RESULT = "result"  #: issue metadata key: ``{"summary": str, "outputs": {name: text}, "files": [path, ...]}``


async def record_result(store: IssueStore, workspace: Workspace, key: str, issue_id: str, token: int | None, *,
                        summary: str, outputs: dict[str, str] | None, actor: str,
                        stages: list[str] | None = None) -> None:
    """Store the result of ``issue_id``, worked in the worktree of ``key``, before it is submitted or closed.

    ``stages``: the ids of the earlier stages the worktree started from (the runtime's checkout knows
    them); None: read from the store (its :func:`upstream_ids`).

    Raises:
        IssueError: the store refused (stale token, expired lease).
    """
    def both() -> tuple[str | None, list[str]]:  # at most one thread hop for the reads
        earlier = stages if stages is not None else upstream_ids(store, store.show(issue_id))
        return store.get_state(BASE_COMMIT), earlier

    base, earlier = await reads.read(store, both)
    files = await workspace.changed_files(key, base, earlier)
    result: dict[str, Any] = {"summary": summary, "outputs": outputs or {}, "files": files}
    update = IssueUpdate(metadata={RESULT: result})
    await writes.write(store, store.update, issue_id, update, actor=actor, token=token)


def with_upstream(store: IssueStore, issue_id: str) -> tuple[IssueDetail, list[IssueDetail]]:
    """(the detail of ``issue_id``, its :func:`upstream` issues): the reads of a task prompt, made in
    one call so a worker pays at most one thread hop for them."""
    detail = store.show(issue_id)
    return detail, upstream(store, detail)


def upstream(store: IssueStore, detail: IssueDetail) -> list[IssueDetail]:
    """The details of the :func:`upstream_ids` issues, in that order."""
    return [store.show(issue_id) for issue_id in upstream_ids(store, detail)]


def upstream_ids(store: IssueStore, detail: IssueDetail) -> list[str]:
    """The ids of the issues whose results ``detail``'s prompt gets: its ``blocks`` dependencies, then
    its task's ``inputs`` (task keys) not among them; each once, in that order."""
    ids = [d.depends_on for d in detail.dependencies if d.type == DependencyType.BLOCKS]
    for key in detail.issue.metadata.get(INPUTS) or []:
        ids += [i.id for i in store.list(where=IssueFilter(metadata={TASK_KEY: key})) if i.id not in ids]
    return ids
