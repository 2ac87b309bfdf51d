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
    """Open the issue store at ``location``: a file path, ``sqlite:///path`` or ``:memory:``.

    Args:
        location: where the database is (see :func:`resolve_db`).
        clock: source of "now" in seconds; the wall clock by default.
        create: create a missing database (only ``create`` commands do).

    Raises:
        InvalidInput: a ``postgresql://`` URL (that backend is designed for but not built yet).
        DatabaseMissing, DatabaseUnreadable, SchemaTooNew: see :class:`SQLiteStore`.
    """
    text = str(location)
    if text.startswith(("postgresql://", "postgres://")):
        raise InvalidInput("the PostgreSQL backend is not available yet; use an SQLite path")
    path = text.removeprefix("sqlite:///") if text.startswith("sqlite:///") else text
    return SQLiteStore(path, clock=clock, create=create)
