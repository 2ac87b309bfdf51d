"""Which worker plan takes which issue: the claim filter's Python twin, applied before anything is claimed.

Workers claim with their plan's ``fleet.takes`` (an :class:`IssueFilter` evaluated in SQL). An issue
that no plan's filter matches would stay open forever and keep the run alive, so the fleet checks
task lists before creating them (``foreman.planner.check_tasks``), refuses the foreman model's
``issue_create`` calls that no plan would take (:func:`refuse_untaken_creates`, a ``tool:pre``
hook: the model sees an error naming the valid worker types), and hands any other such issue
(e.g. made with ``foreman issues create``) to a human (:func:`route_untaken`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import SimpleNamespace
from typing import Any

from amplifier_core.models import HookResult

from foreman.issues import IssueFilter, IssueStore, IssueType, IssueUpdate, Status
from foreman.issues.identity import RUNTIME_ACTOR
from foreman.monitor import NEEDS_HUMAN
from foreman.runtime.plans import MountPlan


def matches(where: IssueFilter, issue: Any) -> bool:
    """True when ``issue`` (anything with ``type``, ``labels``, ``metadata``) passes ``where`` (as the SQL does)."""
    if where.types and issue.type not in where.types:
        return False
    if any(label not in issue.labels for label in where.labels):
        return False
    return all(issue.metadata.get(key) == value for key, value in where.metadata.items())


def taken(plans: list[MountPlan], issue: Any) -> bool:
    """True when some worker plan's ``fleet.takes`` matches ``issue``."""
    return any(matches(plan.fleet.takes, issue) for plan in plans)


def worker_types(plans: list[MountPlan]) -> str:
    """The worker types the plans define, for messages: ``"coding, research"``."""
    return ", ".join(sorted(plan.fleet.worker_type for plan in plans)) or "none"


def refuse_untaken_creates(plans: list[MountPlan]) -> Callable[[str, dict], Awaitable[HookResult]]:
    """A ``tool:pre`` hook that denies an ``issue_create`` no worker plan would take.

    The would-be issue is built from the call's arguments the way tool-issue builds it (``type``
    default ``task``, ``worker_type`` into metadata). Arguments the tool itself would reject pass
    through, so the tool's own error reaches the model.
    """

    async def check(event: str, data: dict) -> HookResult:
        if data.get("tool_name") != "issue_create":
            return HookResult()
        args = data.get("arguments") or {}
        try:
            kind = IssueType(args.get("type", "task"))
        except ValueError:
            return HookResult()
        wanted = args.get("worker_type")
        candidate = SimpleNamespace(type=kind, labels=[], metadata={"worker_type": wanted} if wanted else {})
        if taken(plans, candidate):
            return HookResult()
        reason = (f"no worker takes an issue with worker_type {wanted!r}; "
                  f"set worker_type to one of: {worker_types(plans)}")
        return HookResult(action="deny", reason=reason)

    return check


def route_untaken(store: IssueStore, plans: list[MountPlan]) -> list[str]:
    """Hand every open issue no plan takes to a human (``needs_human``, then blocked with the fix).

    Returns one line per issue handed over, for the run's summary.
    """
    handed = []
    for issue in store.list(statuses=[Status.OPEN], none_of=[plan.fleet.takes for plan in plans]):
        reason = (f"no worker plan takes this issue (its worker_type is {issue.metadata.get('worker_type')!r}; "
                  f"the plans define: {worker_types(plans)}). Set worker_type with `foreman issues update "
                  f"{issue.id} --meta worker_type=TYPE`, then `foreman issues unblock {issue.id}`")
        store.update(issue.id, IssueUpdate(metadata={NEEDS_HUMAN: True}), actor=RUNTIME_ACTOR)
        store.block(issue.id, reason, actor=RUNTIME_ACTOR)
        handed.append(f"{issue.id} handed to a human: {reason}")
    return handed
