"""Fresh PostgreSQL databases for the contract suite (issue 11): one per test, dropped afterwards.

The server is ``$FOREMAN_TEST_PG`` (an admin URL; default ``postgresql://postgres@127.0.0.1:5432/postgres``,
the local server's trust login). Where it cannot be reached the PostgreSQL half of a test skips with
the reason, or fails when ``FOREMAN_REQUIRE_PG=1`` (CI sets it, so the half never vanishes there).
"""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import psycopg
import pytest

ADMIN_URL = os.environ.get("FOREMAN_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


@functools.cache
def unreachable_reason() -> str | None:
    """Why the test server cannot be used (asked once per test session), or None when it can."""
    try:
        psycopg.connect(ADMIN_URL, connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        return f"PostgreSQL half skipped: no server at {ADMIN_URL} ({' '.join(str(exc).split())})"
    return None


def require_server() -> None:
    """Skip (or, with FOREMAN_REQUIRE_PG=1, fail) the current test when the server is unreachable."""
    reason = unreachable_reason()
    if reason and os.environ.get("FOREMAN_REQUIRE_PG") == "1":
        pytest.fail(reason + "; FOREMAN_REQUIRE_PG=1 forbids skipping it")
    if reason:
        pytest.skip(reason)


def url_of(database: str) -> str:
    """The admin URL pointed at another database of the same server."""
    return urlsplit(ADMIN_URL)._replace(path=f"/{database}").geturl()


@contextmanager
def fresh_database() -> Iterator[str]:
    """Create an empty database with a unique name; yields its URL; drops it (sessions and all) at exit."""
    require_server()
    name = f"foreman_test_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    try:
        yield url_of(name)
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
