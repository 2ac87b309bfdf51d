"""The provider gate (issue 12): never more than ``max_concurrent_calls`` model calls of one
provider in flight, counted by the scripted FAKE LLM itself; a 429 reported by one session holds
back the next call of every session of that provider.

Real sessions opened from a mount plan by ``foreman.runtime.sessions.open_session``.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from amplifier_core.events import PROVIDER_RETRY

from foreman.runtime.plans import load_plan
from foreman.runtime.sessions import open_session
from foreman.testing import ScriptedProvider

SESSIONS = 6
CALLS_EACH = 4


def plan_file(tmp_path: Path, provider: dict) -> Path:
    plan = {
        "session": {"orchestrator": {"module": "loop-streaming"}, "context": {"module": "context-simple"}},
        "providers": [{"module": "provider-scripted", **provider}],
        "fleet": {"role": "worker", "worker_type": "coding"},
    }
    path = tmp_path / f"plan-{len(list(tmp_path.iterdir()))}.json"
    path.write_text(json.dumps(plan))
    return path


class InFlight:
    """Counts the calls the fake LLMs are answering at this moment, and the most ever at once."""

    def __init__(self) -> None:
        self.now = 0
        self.most = 0
        self.started: list[float] = []

    def turn(self, answer: str):
        async def answer_slowly(request):
            self.now += 1
            self.most = max(self.most, self.now)
            self.started.append(time.monotonic())
            await asyncio.sleep(0.02)
            self.now -= 1
            return answer

        return answer_slowly


async def _run_sessions(path: Path, flight: InFlight, tmp_path: Path) -> None:
    plan = load_plan(path)

    async def one(n: int) -> None:
        provider = ScriptedProvider([flight.turn(f"done {n}.{i}") for i in range(CALLS_EACH)], name="scripted")
        session = await open_session(plan, workspace=tmp_path, provider=provider)
        try:
            for _ in range(CALLS_EACH):
                await session.execute("go")
        finally:
            await session.cleanup()

    await asyncio.gather(*(one(n) for n in range(SESSIONS)))


def test_no_more_than_the_cap_of_calls_are_ever_in_flight(tmp_path):
    capped = InFlight()
    asyncio.run(_run_sessions(plan_file(tmp_path, {"max_concurrent_calls": 2}), capped, tmp_path))
    assert len(capped.started) == SESSIONS * CALLS_EACH
    assert capped.most == 2

    uncapped = InFlight()  # the same sessions without a cap: the fake sees them all at once
    asyncio.run(_run_sessions(plan_file(tmp_path, {}), uncapped, tmp_path))
    assert uncapped.most > 2


async def _retry_then_call(tmp_path: Path, flight: InFlight, retry: dict) -> float:
    """One session announces ``retry`` (a ``provider:retry`` payload); another session of the same
    provider then makes a call. Returns when the announcement was made (time.monotonic())."""
    plan = load_plan(plan_file(tmp_path, {"max_concurrent_calls": 4}))
    retrying = await open_session(plan, workspace=tmp_path, provider=ScriptedProvider([], name="scripted"))
    other = await open_session(plan, workspace=tmp_path, provider=ScriptedProvider([flight.turn("ok")], name="scripted"))
    announced = time.monotonic()
    await retrying.coordinator.hooks.emit(PROVIDER_RETRY, {"provider": "scripted", "retry_after": None, "attempt": 1,
                                                          **retry})
    await other.execute("go")
    await retrying.cleanup()
    await other.cleanup()
    return announced


def test_a_rate_limit_in_one_session_holds_back_every_session_of_that_provider(tmp_path):
    flight = InFlight()
    announced = asyncio.run(_retry_then_call(tmp_path, flight, {"status_code": 429, "delay": 0.5}))
    assert flight.started and flight.started[0] >= announced + 0.5


def test_a_retry_that_is_not_a_rate_limit_holds_nobody_back(tmp_path):
    flight = InFlight()
    announced = asyncio.run(_retry_then_call(tmp_path, flight, {"status_code": 503, "delay": 30.0}))
    assert flight.started[0] < announced + 30.0
