"""Finds the store and the identity a session's issue tools act with."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from foreman.issues import (
    CLOSE_GATE_CAPABILITY,
    IDENTITY_CAPABILITY,
    STORE_CAPABILITY,
    IssueStore,
    WorkerIdentity,
    open_store,
    resolve_db,
)


@dataclass
class Binding:
    """The identity plus a lazily opened store (opening waits for the first tool call).

    ``gate`` is the runtime's close gate (capability ``foreman.close_gate``): an object with
    ``async close(issue_id, token, summary) -> Issue`` that commits, runs the issue's checks and
    raises ``ChecksFailed`` when they fail. Without one, issues that have checks cannot be closed here.
    """

    identity: WorkerIdentity
    db: str | None
    shared_store: IssueStore | None
    gate: Any = None
    require_checks: bool = False  #: config ``require_checks``: issue_create refuses an issue without checks

    @cached_property
    def store(self) -> IssueStore:
        """The shared store if the runtime gave one, else this session's own (created on first use)."""
        return self.shared_store or open_store(self.db, create=True)


def bind(coordinator: Any, config: dict[str, Any]) -> Binding:
    """Read capabilities ``foreman.identity`` / ``foreman.store`` / ``foreman.close_gate`` and config keys ``role``, ``worker``, ``db``."""
    identity = _capability(coordinator, IDENTITY_CAPABILITY)
    if identity is None:
        role = config.get("role", "worker")
        identity = WorkerIdentity(name=config.get("worker", role), role=role)
    workspace = _capability(coordinator, "session.working_dir")
    db = resolve_db(config.get("db"), workspace)
    return Binding(identity=identity, db=db, shared_store=_capability(coordinator, STORE_CAPABILITY),
                   gate=_capability(coordinator, CLOSE_GATE_CAPABILITY),
                   require_checks=bool(config.get("require_checks", False)))


def _capability(coordinator: Any, name: str) -> Any:
    getter = getattr(coordinator, "get_capability", None)
    return getter(name) if getter else None
