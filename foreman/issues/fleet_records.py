"""Records a fleet keeps beside its issues: each worker's reported status, and run-level events.

- :class:`WorkerStatus` is one row of the ``workers`` table (migration 005): every worker (and the
  foreman) upserts its own row while it runs, so the live view, the end-of-run summary and a
  dashboard read the same state whether workers run in the foreman's process, in their own
  processes (``--processes``) or in other shells (``foreman worker``).
- :data:`RUN_EVENTS` is the issue id under which events that belong to the run rather than to one
  issue are logged (the foreman's own model and tool calls). No issue can have it: issue ids are
  ``<prefix>-<letters>``.
- :data:`STOP_REQUEST` is where an operator (the dashboard) asks every process of a run to stop.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

RUN_EVENTS = "run"  #: pseudo issue id of run-level events (`foreman issues events run`)
STOP_REQUEST = "stop_request"  #: fleet_state key: ``{"mode", "actor", "at"}`` of the latest stop request (issue 10)
STOP_MODES = ("graceful", "emergency")  #: like one Ctrl-C (finish the step, release claims), like two (exit at once)


class WorkerStatus(BaseModel):
    """What one worker reports about itself (one row of the ``workers`` table, keyed by ``name``)."""

    name: str  #: unique worker name, e.g. ``coding-1`` (``foreman`` for the foreman)
    worker_type: str  #: the plan's ``fleet.worker_type`` (``foreman`` for the foreman)
    host: str  #: host name of the worker's machine
    pid: int  #: the worker's process id on that host
    state: str  #: starting, idle, working, backing off, stopped (the foreman: planning, reviewing, watching)
    issue_id: str | None = None  #: the issue it works on now
    last_action: str = ""
    model_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0  #: USD
    closed: int = 0  #: issues this worker closed since it started
    blocked: int = 0
    failed: int = 0
    heartbeat_at: datetime | None = None  #: when the row was last written (set by the store)
