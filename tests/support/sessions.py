"""One turn of a real session against a scripted fake LLM, for tests that read what the model was sent."""

from __future__ import annotations

from pathlib import Path

from amplifier_core.message_models import ChatRequest

from foreman.runtime.plans import MountPlan
from foreman.runtime.sessions import open_session
from foreman.testing import ScriptedProvider


async def first_request(plan: MountPlan, workspace: Path, prompt: str = "hello") -> ChatRequest:
    """The request a session of ``plan`` working in ``workspace`` sends its model for ``prompt``
    (the fake LLM answers "ok"; the session is cleaned up)."""
    fake = ScriptedProvider(["ok"])
    session = await open_session(plan, workspace=workspace, provider=fake)
    try:
        await session.execute(prompt)
    finally:
        await session.cleanup()
    return fake.requests[0]
