"""The runtime, not the model, enforces an issue's budget (issue 12).

A builder's session on an issue with a budget (:func:`foreman.runtime.budgets.issue_budget`) runs under a
:class:`BudgetGuard`: it starts from what the issue's earlier attempts spent (read from the event
log), adds each model call's usage as the session's ``llm:response`` / ``provider:response`` events
arrive (``foreman.runtime.model_calls`` says which count), and, once
a limit is reached, cancels the session: it stops at its next step. A ``max_seconds`` limit is a
timer started with the session. The runtime then ends the attempt with outcome ``budget`` and the
reason, and the issue goes to dead letter (``IssueStore.over_budget``): never silently continued.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from amplifier_core.models import HookResult

from foreman.issues import IssueStore
from foreman.runtime.budgets import Budget, Usage, UsageMeter, exceeded, worked_seconds
from foreman.runtime.model_calls import MODEL_CALL_EVENTS, ModelCallCounter


class BudgetGuard:
    """Watches one session against an issue's budget.

    Args:
        budget: the issue's limits (over its plan's default).
        spent: what the issue's sessions used before this one.
        worked: seconds of the issue's earlier attempts.

    Attributes:
        reason: which limit was reached (``"max_tokens 5000 reached (5210 tokens used)"``), or None.
    """

    def __init__(self, budget: Budget, spent: Usage, worked: float) -> None:
        self.budget, self.spent, self.worked = budget, spent, worked
        self.reason: str | None = None
        self._started = time.monotonic()
        self._timer: asyncio.Task | None = None
        self._session: Any = None
        self._stopped = False
        self._counter = ModelCallCounter()

    @classmethod
    def read(cls, store: IssueStore, issue_id: str, budget: Budget) -> BudgetGuard:
        """A guard starting from the issue's spend so far (its event log and attempts, this claim's included)."""
        spent = UsageMeter(store, issue_id).read()
        return cls(budget, spent, worked_seconds(store.attempts(issue_id), store.clock.now()))

    @classmethod
    def unlimited(cls) -> BudgetGuard:
        """A guard with no limit (sessions of issues without a budget)."""
        return cls(Budget(), Usage(), 0.0)

    def check(self) -> str | None:
        """The limit reached so far, or None (``reason`` keeps the first one)."""
        self.reason = self.reason or exceeded(self.budget, self.spent, self.worked + self.elapsed)
        return self.reason

    @property
    def elapsed(self) -> float:
        """Seconds since this guard (its session) started."""
        return time.monotonic() - self._started

    def attach(self, session: Any) -> None:
        """Count each model call of ``session`` (a FleetSession) and cancel it at a limit. A guard with
        no limit registers no hook: it can never stop the session, and every handler costs each model
        call a trip through the kernel's hook registry (about 0.3 ms of CPU)."""
        self._session = session
        if self.budget.empty:
            return
        for event in MODEL_CALL_EVENTS:
            session.hooks.register(event, self._on_response, name=f"foreman-budget-{event}")

    async def _on_response(self, event: str, data: dict[str, Any]) -> HookResult:
        if not self._counter.counts(event, data):
            return HookResult()
        self.spent = self.spent.plus(data.get("usage") or {})
        await self._stop_if_reached()
        return HookResult()

    async def _stop_if_reached(self) -> None:
        """Cancel the session once, when a limit is reached."""
        if not self._stopped and self.check() and self._session is not None:
            self._stopped = True
            await self._session.cancel()

    async def __aenter__(self) -> BudgetGuard:
        if self.budget.max_seconds is not None:
            self._timer = asyncio.create_task(self._stop_at_deadline(), name="budget-deadline")
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._timer is not None:
            self._timer.cancel()
            await asyncio.gather(self._timer, return_exceptions=True)

    async def _stop_at_deadline(self) -> None:
        while self.check() is None:  # a timer may fire a hair early: sleep again until the limit holds
            await asyncio.sleep(max(0.01, self.budget.max_seconds - self.worked - self.elapsed))
        await self._stop_if_reached()
