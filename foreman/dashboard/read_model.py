"""The dashboard's read model: every issue, the run's model usage and the worker rows, kept current
from the event log.

Every write to an issue appends an event in the same transaction (docs/state-machine.md), so
reading the events after the last one seen tells which issues changed: only those are read again.
Pages then render from memory (10,000 issues filter and sort in milliseconds) and the live feed
knows which topics changed. Changes made by any process on the database show up at the next
:meth:`ReadModel.refresh` (the server calls it every :data:`~foreman.dashboard.live.POLL_INTERVAL`
seconds).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from foreman.issues import Event, Issue, IssueStore
from foreman.issues.fleet_records import RUN_EVENTS, STOP_REQUEST, WorkerStatus
from foreman.runtime.budgets import Usage, model_calls
from foreman.runtime.fleet_state import RUN_OVER
from foreman.summary import run_started

EVENT_BATCH = 5_000  # events read per query while catching up
RELOAD_ALL_OVER = 500  # changed issues in one refresh above which every issue is read again

CHANGE = "change"  #: topic: any event was appended (an issue, a note, a session step, a stop request)
WORKERS = "workers"  #: topic: a worker row changed (state, issue, counters; heartbeats alone do not count)


def issue_topic(issue_id: str) -> str:
    """The topic of one issue's changes (an SSE event name)."""
    return f"issue-{issue_id}"


@dataclass(frozen=True)
class Snapshot:
    """What the pages render: replaced whole by each refresh, so a reader never sees half an update.

    Attributes:
        issues: every issue by id.
        usage: model usage of the run so far (calls, tokens, USD), from model-call events
            (``foreman.runtime.model_calls``).
        workers: worker rows reported since the run started (``workers`` table).
        started_at: when the stored run began (epoch seconds), 0 when no run is stored.
        run_over: the foreman recorded that the run is over.
        stop_request: the latest stop request (``{"mode", "actor", "at"}``) or None.
        last_event: id of the newest event read.
        now: store clock at the refresh (epoch seconds).
    """

    issues: dict[str, Issue] = field(default_factory=dict)
    usage: Usage = Usage()
    workers: tuple[WorkerStatus, ...] = ()
    started_at: float = 0.0
    run_over: bool = False
    stop_request: dict | None = None
    last_event: int = 0
    now: float = 0.0


class ReadModel:
    """Keeps a :class:`Snapshot` of ``store`` current; ``refresh`` is synchronous (call it in a thread).

    Args:
        store: the issue store (the dashboard's own connection).
    """

    def __init__(self, store: IssueStore) -> None:
        self.store = store
        self.snapshot = Snapshot()
        self._lock = threading.Lock()  # one refresh at a time (the poller and a control's follow-up)

    def refresh(self) -> set[str]:
        """Read what changed since the last refresh; returns the topics that changed (empty: nothing)."""
        with self._lock:
            old = self.snapshot
            started = run_started(self.store)
            if started != old.started_at:  # a new run on this database: count its usage from the start
                old = Snapshot(started_at=started)
            events = self._new_events(old.last_event)
            issues = self._issues(old, {e.issue_id for e in events if e.issue_id != RUN_EVENTS})
            workers = tuple(self.store.worker_list(since=started))
            self.snapshot = Snapshot(
                issues=issues, usage=old.usage + model_calls(events, since=started), workers=workers,
                started_at=started, run_over=bool(self.store.get_state(RUN_OVER, False)),
                stop_request=self.store.get_state(STOP_REQUEST), last_event=events[-1].id if events else old.last_event,
                now=self.store.clock.now())
        topics = {issue_topic(e.issue_id) for e in events}
        topics |= {CHANGE} if events else set()
        return topics | ({WORKERS} if _steady(workers) != _steady(old.workers) else set())

    def _new_events(self, after: int) -> list[Event]:
        events: list[Event] = []
        while True:
            batch = self.store.events(after=after, limit=EVENT_BATCH)
            events += batch
            if len(batch) < EVENT_BATCH:
                return events
            after = batch[-1].id

    def _issues(self, old: Snapshot, changed: set[str]) -> dict[str, Issue]:
        """Every issue: all read again on the first refresh or after many changes, else only the changed ones."""
        if not old.last_event or len(changed) > RELOAD_ALL_OVER:
            return {issue.id: issue for issue in self.store.list()}
        issues = dict(old.issues)
        for issue_id in changed:
            issues[issue_id] = self.store.get(issue_id)
        return issues


def _steady(workers: tuple[WorkerStatus, ...]) -> list[WorkerStatus]:
    """The rows without their heartbeat times: every live worker writes its row each second, and
    pages re-render heartbeat ages on a timer instead (a dead worker's row never changes)."""
    return [w.model_copy(update={"heartbeat_at": None}) for w in workers]

