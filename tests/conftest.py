"""Shared fixtures. No test may reach an LLM API or the network: the provider keys are removed."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from foreman.issues import FakeClock, open_store
from tests.support.seed import create_seed_workspace
from tests.support.postgres import fresh_database


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


@pytest.fixture(params=["file", "memory", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path, clock):
    """The store contract runs against a file-backed SQLite database, an in-memory one and PostgreSQL."""
    with _location(request.param, tmp_path) as location:
        s = open_store(location, clock=clock, create=True)
        yield s
        s.disconnect()


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """Where a test's (still empty) issue database is, for tests that open it from several processes:
    an SQLite file path, or the URL of a fresh PostgreSQL database dropped after the test (issue 11)."""
    with _location(request.param, tmp_path) as location:
        yield str(location)


@contextmanager
def _location(backend: str, tmp_path: Path) -> Iterator[str | Path]:
    if backend == "postgres":
        with fresh_database() as url:
            yield url
    else:
        yield ":memory:" if backend == "memory" else tmp_path / "issues.db"


@pytest.fixture
def git_workspace(tmp_path) -> Path:
    """The seed's sample app as a fresh git repository with one commit."""
    return create_seed_workspace(tmp_path / "ws")
