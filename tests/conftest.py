"""Shared fixtures. No test may reach an LLM API or the network: the provider keys are removed."""

from __future__ import annotations

from pathlib import Path

import pytest

from foreman.issues import FakeClock, open_store
from tests.support.seed import create_seed_workspace


@pytest.fixture(autouse=True)
def _no_real_llm(monkeypatch: pytest.MonkeyPatch) -> None:
    """Guard: a stray real provider call fails fast instead of reaching a real API."""
    for name in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "ANTHROPIC_BASE_URL", "OPENAI_BASE_URL", "FOREMAN_DB"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def _dashboard_on_a_free_port(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every `foreman run` / `demo.py` a test starts serves its dashboard on a free port, never on 8765."""
    monkeypatch.setenv("FOREMAN_DASHBOARD_PORT", "0")


@pytest.fixture
def clock() -> FakeClock:
    """A clock that only moves when the test says so."""
    return FakeClock()


@pytest.fixture(params=["file", "memory"])
def store(request: pytest.FixtureRequest, tmp_path, clock):
    """The store contract runs against a file-backed database and an in-memory one."""
    location = tmp_path / "issues.db" if request.param == "file" else ":memory:"
    s = open_store(location, clock=clock, create=True)
    yield s
    s.disconnect()


@pytest.fixture
def git_workspace(tmp_path) -> Path:
    """The seed's sample app as a fresh git repository with one commit."""
    return create_seed_workspace(tmp_path / "ws")
