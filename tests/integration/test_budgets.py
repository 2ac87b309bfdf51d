"""Budgets and call limits enforced by the runtime (issue 12): every budget kind stops a session
that never stops calling tools, the attempt ends with outcome ``budget`` and the issue goes to dead
letter; a spent issue is not relaunched; a model call that takes too long fails the attempt.

Real SQLite stores, mount plans, sessions (loop-streaming, tool-issue); the LLM is a scripted FAKE
(``foreman.testing.ScriptedProvider``) that asks for ``issue_show`` on every turn, forever.
"""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path

import pytest

from foreman.issues import EventKind, NewIssue, Status
from foreman.issues.sqlite_store import SQLiteStore
from foreman.runtime.budgets import Budget, Usage, UsageMeter
from foreman.runtime.plans import load_plan
from foreman.runtime.recorder import EventSink
from foreman.runtime.sessions import open_session
from foreman.runtime.workspace import Workspace
from foreman.testing import ScriptedProvider, call
from workers.budget import BudgetGuard
from workers.runtime import Worker, WorkerOptions

ENDLESS = 400  # scripted turns: far more than any budget below lets a session use


def endless_plan(tmp_path: Path, *, budget: dict | None = None, provider: dict | None = None) -> Path:
    """A worker plan whose loop would run 1000 steps: only a budget stops it."""
    plan = {
        "session": {"orchestrator": {"module": "loop-streaming", "config": {"max_iterations": 1000}},
                    "context": {"module": "context-simple", "config": {"max_tokens": 100_000}}},
        "providers": [{"module": "provider-scripted", **(provider or {})}],
        "tools": [{"module": "tool-issue", "config": {"role": "worker", "operations": ["show", "note", "block", "close"]}}],
        "fleet": {"role": "worker", "worker_type": "coding", "budget": budget or {}},
    }
    path = tmp_path / "plans" / "endless-worker.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(plan))
    return path


def looping_provider(issue_id: str, *, delay: float = 0.0, cost: str = "0") -> ScriptedProvider:
    async def show(request):
        await asyncio.sleep(delay)
        return call("issue_show", id=issue_id)

    return ScriptedProvider([show] * ENDLESS, name="scripted", cost_per_call=Decimal(cost))


def work(store: SQLiteStore, root: Path, plan_path: Path, provider: ScriptedProvider) -> Worker:
    worker = Worker("coding-1", load_plan(plan_path), store, Workspace(root), run_over=asyncio.Event(),
                    stopping=asyncio.Event(), sink=EventSink(store),
                    options=WorkerOptions(until_idle=True, provider_factory=lambda plan, name: provider))
    asyncio.run(worker.run())
    return worker


@pytest.fixture()
def store(tmp_path):
    return SQLiteStore(tmp_path / "issues.db", create=True)


@pytest.mark.parametrize(("budget", "cost", "delay", "limit"), [
    ({"max_model_calls": 3}, "0", 0.0, "max_model_calls 3"),
    ({"max_tokens": 3000}, "0", 0.0, "max_tokens 3000"),
    ({"max_cost_usd": 0.025}, "0.01", 0.0, "max_cost_usd 0.025"),
    ({"max_seconds": 0.6}, "0", 0.1, "max_seconds 0.6"),
])
def test_each_budget_stops_a_session_that_never_stops_and_dead_letters_the_issue(tmp_path, store, budget, cost,
                                                                                   delay, limit):
    issue = store.create(NewIssue(title="loop forever", metadata={"budget": budget}))
    provider = looping_provider(issue.id, delay=delay, cost=cost)
    work(store, tmp_path, endless_plan(tmp_path), provider)

    after = store.show(issue.id)
    assert after.issue.status == Status.DEAD_LETTER
    assert [a.outcome for a in after.attempts] == ["budget"]  # one attempt: never relaunched
    assert limit in after.attempts[0].error
    calls = len(provider.requests)
    assert 0 < calls < ENDLESS
    used = UsageMeter(store, issue.id).read()
    assert used.calls == calls  # every call the fake answered is in the event log
    if "max_model_calls" in budget:
        assert calls == 3  # stopped at the next step after the third call
    if "max_tokens" in budget:  # the step that crossed the limit was the last one
        assert used.tokens >= 3000 and used.tokens - provider_last_call_tokens(store, issue.id) < 3000


def test_only_a_guard_with_a_limit_hooks_into_the_session(tmp_path, store):
    async def budget_hooks(guard: BudgetGuard) -> list[str]:
        session = await open_session(load_plan(endless_plan(tmp_path)), workspace=tmp_path, store=store,
                                     provider=ScriptedProvider(["ok"]))
        guard.attach(session)
        handlers = session.hooks.list_handlers()
        await session.cleanup()
        return sorted(name for names in handlers.values() for name in names if name.startswith("foreman-budget"))

    assert asyncio.run(budget_hooks(BudgetGuard.unlimited())) == []
    limited = BudgetGuard(Budget(max_model_calls=3), Usage(), 0.0)
    assert asyncio.run(budget_hooks(limited)) == ["foreman-budget-llm:response", "foreman-budget-provider:response"]


def provider_last_call_tokens(store: SQLiteStore, issue_id: str) -> int:
    last = [e for e in store.events(issue_id, kinds=[EventKind.SESSION]) if e.data["event"] == "provider:response"][-1]
    return last.data["usage"]["input_tokens"] + last.data["usage"]["output_tokens"]


def test_the_plans_default_budget_applies_and_the_issues_own_keys_win(tmp_path, store):
    plan = endless_plan(tmp_path, budget={"max_model_calls": 2, "max_tokens": 10_000_000})
    own = store.create(NewIssue(title="own limit", metadata={"budget": {"max_model_calls": 4}}))
    provider = looping_provider(own.id)
    work(store, tmp_path, plan, provider)
    assert len(provider.requests) == 4 and store.get(own.id).status == Status.DEAD_LETTER

    default = store.create(NewIssue(title="plan default"))
    provider = looping_provider(default.id)
    work(store, tmp_path, plan, provider)
    assert len(provider.requests) == 2 and "max_model_calls 2" in store.attempts(default.id)[0].error


def test_a_spent_issue_reopened_goes_back_to_dead_letter_without_a_model_call(tmp_path, store):
    issue = store.create(NewIssue(title="spent", metadata={"budget": {"max_model_calls": 2}}))
    work(store, tmp_path, endless_plan(tmp_path), looping_provider(issue.id))
    store.reopen(issue.id, reason="try again")

    provider = looping_provider(issue.id)
    work(store, tmp_path, endless_plan(tmp_path), provider)
    assert provider.requests == []
    assert [a.outcome for a in store.attempts(issue.id)] == ["budget", "budget"]
    assert store.get(issue.id).status == Status.DEAD_LETTER


def test_a_model_call_slower_than_its_timeout_fails_the_attempt(tmp_path, store):
    issue = store.create(NewIssue(title="slow model", metadata={"call_timeout": 0.2}, max_attempts=1))
    provider = looping_provider(issue.id, delay=30)
    work(store, tmp_path, endless_plan(tmp_path), provider)
    attempt = store.attempts(issue.id)[0]
    assert attempt.outcome == "failed" and "longer than 0.2 s" in attempt.error
    assert len(provider.requests) == 1


def test_the_plans_call_timeout_applies_when_the_issue_sets_none(tmp_path, store):
    issue = store.create(NewIssue(title="slow model", max_attempts=1))
    provider = looping_provider(issue.id, delay=30)
    work(store, tmp_path, endless_plan(tmp_path, provider={"call_timeout": 0.3}), provider)
    assert "longer than 0.3 s" in store.attempts(issue.id)[0].error
