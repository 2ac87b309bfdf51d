"""The issue database: the fleet's work queue (models, state machine, stores).

Open a store with :func:`open_store`; callers depend on the :class:`IssueStore` protocol only.
"""

from __future__ import annotations

import os
from pathlib import Path

from foreman.issues.clock import Clock, FakeClock, SystemClock
from foreman.issues.errors import ChecksFailed, InvalidInput, IssueError, NothingReady, NotTaken
from foreman.issues.identity import (
    CLOSE_GATE_CAPABILITY,
    IDENTITY_CAPABILITY,
    RUNTIME_ACTOR,
    STORE_CAPABILITY,
    WorkerIdentity,
)
from foreman.issues.interfaces import IssueStore
from foreman.issues.models import (
    Claim,
    DependencyType,
    Event,
    EventKind,
    Issue,
    IssueFilter,
    IssueType,
    IssueUpdate,
    NewIssue,
    Status,
)
from foreman.issues.sqlite_store import DEFAULT_LEASE_TTL, SQLiteStore

__all__ = [
    "CLOSE_GATE_CAPABILITY",
    "IDENTITY_CAPABILITY",
    "RUNTIME_ACTOR",
    "STORE_CAPABILITY",
    "ChecksFailed",
    "NotTaken",
    "NothingReady",
    "WorkerIdentity",
    "DEFAULT_DB",
    "DEFAULT_LEASE_TTL",
    "POSTGRES_SCHEMES",
    "Claim",
    "Clock",
    "DependencyType",
    "Event",
    "EventKind",
    "FakeClock",
    "Issue",
    "IssueError",
    "IssueFilter",
    "IssueStore",
    "IssueType",
    "IssueUpdate",
    "NewIssue",
    "Status",
    "SystemClock",
    "open_store",
    "resolve_db",
]

DEFAULT_DB = Path(".foreman") / "issues.db"  #: relative to the workspace
ENV_VAR = "FOREMAN_DB"
POSTGRES_SCHEMES = ("postgresql://", "postgres://")  #: a location starting so is a PostgreSQL server's database


def resolve_db(db: str | os.PathLike | None = None, workspace: str | os.PathLike | None = None) -> str:
    """Where the database is: ``db`` if given, else ``$FOREMAN_DB``, else ``<workspace>/.foreman/issues.db``.

    ``workspace`` defaults to the current directory.
    """
    if db:
        return str(db)
    if os.environ.get(ENV_VAR):
        return os.environ[ENV_VAR]
    return str(Path(workspace or ".") / DEFAULT_DB)


def open_store(location: str | os.PathLike, *, clock: Clock | None = None, create: bool = False) -> IssueStore:
    """Open the issue store at ``location``: a file path, ``sqlite:///path``, ``:memory:`` or a PostgreSQL URL.

    Args:
        location: where the database is (see :func:`resolve_db`).
        clock: source of "now" in seconds; the wall clock by default.
        create: create a missing database (only ``create`` commands do).

    A ``postgresql://`` (or ``postgres://``) URL opens a :class:`PostgresStore` (issue 11).

    Raises:
        DatabaseMissing, DatabaseUnreadable, SchemaTooNew: see :class:`SQLiteStore` and :class:`PostgresStore`.
        InvalidInput: a malformed PostgreSQL URL.
    """
    text = str(location)
    if text.startswith(POSTGRES_SCHEMES):
        from foreman.issues.postgres_store import PostgresStore  # psycopg loads only when PostgreSQL is used

        return PostgresStore(text, clock=clock, create=create)
    path = text.removeprefix("sqlite:///") if text.startswith("sqlite:///") else text
    return SQLiteStore(path, clock=clock, create=create)
