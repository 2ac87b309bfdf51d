"""How a session knows who it is on the issue database: capabilities set by the fleet runtime.

The runtime registers, before ``session.initialize()``:

- ``foreman.identity``: a :class:`WorkerIdentity` (name, role, claim filter, and the current
  :class:`~foreman.issues.models.Claim` with its fencing token), so the issue tool writes with the
  right token without the model ever typing it;
- ``foreman.store``: the process's shared :class:`~foreman.issues.interfaces.IssueStore`;
- ``foreman.close_gate``: the session's :class:`workers.gate.CloseGate`; ``issue_close`` goes through
  it (commit, checks, then submit for review or close) instead of closing directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from foreman.issues.models import Claim, IssueFilter
from foreman.issues.sqlite_store import DEFAULT_LEASE_TTL

RUNTIME_ACTOR = "foreman-runtime"  #: author of the runtime's bookkeeping notes (kept out of model prompts)
IDENTITY_CAPABILITY = "foreman.identity"
STORE_CAPABILITY = "foreman.store"
CLOSE_GATE_CAPABILITY = "foreman.close_gate"  #: runs an issue's checks before a worker's close (workers.gate)


@dataclass
class WorkerIdentity:
    """A session's identity on the queue.

    Attributes:
        name: the worker (or foreman) name recorded as assignee and event actor.
        role: ``worker`` acts only on its own claim; ``foreman`` acts on any issue by id.
        where: the filter of issues this worker takes (e.g. ``metadata={"worker_type": "coding"}``).
        lease_ttl: lease length in seconds for claims made through the tool.
        claim: the current claim, set by the runtime (runtime mode) or by ``issue_claim`` (agent mode).
        claimed: ids of every issue this identity claimed through the tool (agent mode bookkeeping).
    """

    name: str
    role: Literal["worker", "foreman"] = "worker"
    where: IssueFilter = field(default_factory=IssueFilter)
    lease_ttl: float = DEFAULT_LEASE_TTL
    claim: Claim | None = None
    claimed: list[str] = field(default_factory=list)
