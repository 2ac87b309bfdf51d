"""The SQLite issue store: the embedded default backend (stdlib ``sqlite3``, WAL mode).

Every write runs in ``BEGIN IMMEDIATE`` (the write lock is taken up front, so a read inside the
transaction cannot be overtaken; writers wait for it as :mod:`foreman.issues.write_lock` says) and appends its event row in the same transaction. Status changes
go through :func:`foreman.issues.states.find_transition` and a guarded ``UPDATE`` that also checks
the status and fencing token read, so a lost race can never write. All SQL text lives in
``sql/queries.sql``. Time comes from the injected :class:`~foreman.issues.clock.Clock`.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from functools import lru_cache
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from foreman.issues import ids
from foreman.issues.limits import DISK_FULL_BYTES, check_ttl
from foreman.issues.clock import Clock, SystemClock
from foreman.issues.errors import (
    ClaimConflict,
    DatabaseMissing,
    DatabaseUnreadable,
    DependencyCycle,
    DiskFull,
    IllegalTransition,
    InvalidInput,
    InvalidText,
    IssueError,
    IssueNotFound,
    LeaseExpired,
    NotReady,
    NothingReady,
    NumberOutOfRange,
    StaleToken,
    WouldWait,
)
from foreman.issues.fleet_records import RUN_EVENTS, STOP_MODES, STOP_REQUEST, WorkerStatus
from foreman.issues.filters import KEY_PATTERN, event_where, issue_where
from foreman.issues.models import (
    Attempt,
    Claim,
    Dependency,
    DependencyType,
    Event,
    EventKind,
    Issue,
    IssueDetail,
    IssueFilter,
    IssueUpdate,
    NewIssue,
    Note,
    Status,
    from_epoch,
)
from foreman.issues.sql_queries import migrate, queries
from foreman.issues.states import Action, Transition, counter, find_transition
from foreman.issues.write_lock import BusyHandler, WriteLock

DEFAULT_LEASE_TTL = 120.0  # seconds a claim lives without a heartbeat
DEFAULT_BUSY_TIMEOUT = 30.0  # seconds to wait for another process's write lock
NO_LIMIT = -1  # SQLite's LIMIT -1 means "all rows"
READ_BUSY_MS = 50  # SQLite busy wait of a read connection (a read waits only during a WAL reset), ms
WAL_CHECKPOINT_PAGES = 10_000  # pages (~40 MB) of WAL between checkpoints; SQLite's 1,000 costs ~20% throughput
_ID_TRIES = 8  # id collisions tolerated before an id grows by one character
_EVENT_JSON = json.JSONEncoder(check_circular=False).encode  # event data: plain dicts, encoded twice per claim+close
#: fenced actions whose edge from in_progress does not depend on the attempt count, copies no column
#: of the row and keeps the assignee (the changed row names the event's actor), so a live claim takes
#: them in one statement (:meth:`SQLiteStore._write_held`): the hot path's renewals and closes
HELD_ACTIONS = frozenset({Action.HEARTBEAT, Action.CLOSE, Action.BLOCK})
SWEEP_INTERVAL = 1.0  # seconds (store clock) between the lease sweeps claims make, per store
RUN_LOCK_KEY = "run_lock"  # fleet_state key of the run lock (holder JSON; updated_at is its heartbeat)

class SQLiteStore:
    """Issue store on one SQLite file; safe to share between threads and processes.

    Args:
        path: the database file (``:memory:`` for a private in-memory database).
        clock: source of "now" (seconds); defaults to the wall clock.
        create: create the file and schema when missing; otherwise a missing file is an error.
        busy_timeout: seconds to wait for another writer before failing.
        id_prefix: prefix of new issue ids (``fm`` gives ``fm-3k9a``).
        write_lock: how write transactions take the write lock; default
            :class:`~foreman.issues.write_lock.BusyHandler` (``bench/bench_queue.py --lock`` passes the
            strategies it compares, e.g. :class:`~foreman.issues.write_lock.WriterQueue`).

    Raises:
        DatabaseMissing: the file does not exist and ``create`` is false.
        DatabaseUnreadable: the file is not an issue database (corrupt, not SQLite, another schema).
        SchemaTooNew: the file was written by a newer version of this program.
    """

    dialect = "sqlite"  #: which SQL the filter fragments are written in (see filters.JSON_CONDITIONS)
    can_wake = False  #: :meth:`wait_for_change` only sleeps; idle workers poll
    _swept_at = float("-inf")  # store clock, seconds: when a claim last swept expired leases
    #: whether a write transaction's row read holds the row until COMMIT (PostgreSQL's ``FOR UPDATE``),
    #: so a guarded write cannot miss and need not wait for its row count (a round trip there)
    rows_locked_when_read = False

    def __init__(
        self,
        path: str | Path,
        *,
        clock: Clock | None = None,
        create: bool = False,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
        id_prefix: str = ids.DEFAULT_PREFIX,
        write_lock: WriteLock | None = None,
    ) -> None:
        self.path = str(path)
        self.clock = clock or SystemClock()
        self.id_prefix = id_prefix
        self._lock = threading.RLock()
        self._sql = queries()
        self._conn = _connect(self.path, create=create, busy_timeout=busy_timeout)
        self._write_lock = write_lock or BusyHandler()
        self._readers = threading.local()  # each thread's read connection (see _reading)
        self._reader_conns: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()  # guards the list only: never wait for the write lock to read
        self.inline_reads = self.path != ":memory:"  #: a file's reads never wait (WAL, own connection); :memory:'s take the write lock
        #: a file's writes can be tried without waiting (not_waiting); :memory: has one connection
        self.inline_writes = self.inline_reads
        self._trying = threading.local()  # .on: this thread's next write transaction gives up rather than wait
        self._now_conn: sqlite3.Connection | None = None  # the writes tried without waiting (busy timeout 0)
        self._now_lock = threading.Lock()  # one such write at a time, taken without waiting

    # -- plumbing -------------------------------------------------------------------------

    def disconnect(self) -> None:
        """Close the writer's connection and every thread's reader (the store is unusable afterwards)."""
        with self._lock:
            self._conn.close()
            self._write_lock.close()
        with self._now_lock:
            if self._now_conn is not None:
                self._now_conn.close()
        with self._readers_lock:
            for reader in self._reader_conns:
                reader.close()

    def wait_for_change(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for another process's change; SQLite cannot tell, so it sleeps.

        Returns False (no wake-up; the caller polls). PostgreSQL answers with LISTEN/NOTIFY (issue 11).
        """
        time.sleep(timeout)
        return False

    @contextmanager
    def not_waiting(self) -> Iterator[None]:
        """Within the block, this thread's first write transaction does not wait for the write lock.

        It runs on a connection of its own with a busy timeout of 0 and raises :class:`WouldWait`
        (before anything is written) when another thread or process holds the lock. Later
        transactions in the block wait as usual, so a call that wrote once never gives up halfway.
        The attempt bypasses ``write_lock`` (a :class:`~foreman.issues.write_lock.WriterQueue` is not
        joined: a write that does not wait needs no turn; SQLite still excludes the others). Async
        callers use it through :func:`foreman.issues.writes.write` (a thread hop costs the event loop
        more than an uncontended write).
        """
        self._trying.on = True
        try:
            yield
        finally:
            self._trying.on = False

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` transaction under the write lock; commits on success and on :class:`LeaseExpired`.

        The lock is taken and let go by ``write_lock`` (default :class:`~foreman.issues.write_lock.BusyHandler`),
        or, for the first write inside :meth:`not_waiting`, tried once. One generator for the lock,
        the transaction and the error translation: this runs twice per claim+close (issue 13).
        """
        trying, self._trying.on = getattr(self._trying, "on", False), False
        try:
            conn, release = self._begin_now() if trying else self._begin_waiting()
            try:
                try:
                    yield conn
                except LeaseExpired:
                    conn.execute("COMMIT")  # the expiry it wrote must stay
                    raise
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            finally:
                release()
        except SQLITE_FAULTS as exc:
            raise _database_error(self.path, exc) from exc

    def _begin_waiting(self) -> tuple[sqlite3.Connection, Callable[[], None]]:
        """``BEGIN IMMEDIATE`` on the writer's connection, waiting for the lock as ``write_lock`` says;
        returns the connection and what lets the lock go once the transaction has ended."""
        self._lock.acquire()
        try:
            self._write_lock.begin(self._conn)
        except BaseException:
            self._lock.release()
            raise
        return self._conn, self._end_waiting

    def _end_waiting(self) -> None:
        """Let go of what :meth:`_begin_waiting` took, once its transaction has ended."""
        self._write_lock.end()
        self._lock.release()

    def _begin_now(self) -> tuple[sqlite3.Connection, Callable[[], None]]:
        """``BEGIN IMMEDIATE`` on the no-wait connection; returns it and what lets it go.

        Raises:
            WouldWait: another thread is writing without waiting, or another connection holds the lock.
        """
        if not self._now_lock.acquire(blocking=False):
            raise WouldWait("another thread is writing without waiting")
        try:
            if self._now_conn is None:
                self._now_conn = _writer(self.path, busy_timeout=0)
            self._now_conn.execute("BEGIN IMMEDIATE")
        except BaseException as exc:
            self._now_lock.release()
            if getattr(exc, "sqlite_errorname", "").startswith("SQLITE_BUSY"):
                raise WouldWait(str(exc)) from exc
            raise
        return self._now_conn, self._now_lock.release

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """One read transaction (a consistent snapshot across several SELECTs), on the calling
        thread's own connection: in WAL mode reads never wait for the writer or for each other."""
        with _translated_errors(self.path), self._reading() as conn:
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                conn.execute("COMMIT")

    def _select(self, sql: str, params: Any = ()) -> list[sqlite3.Row]:
        """Every row of one SELECT on the calling thread's read connection. A lone statement is its own
        consistent snapshot (WAL, autocommit) and fetching all its rows ends it, so, unlike
        :meth:`_read`, no BEGIN/COMMIT goes around it: two statements fewer, each a GIL release."""
        with _translated_errors(self.path), self._reading() as conn:
            return conn.execute(sql, params).fetchall()

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        """This thread's read connection, opened on first use; ``:memory:`` has only the writer's
        (another connection would open another, empty, database), taken under the write lock."""
        if self.path == ":memory:":
            with self._lock:
                yield self._conn
            return
        conn = getattr(self._readers, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {READ_BUSY_MS}")
            conn.execute("PRAGMA query_only = ON")
            self._readers.conn = conn
            with self._readers_lock:
                self._reader_conns.append(conn)
        yield conn

    def _row(self, conn: sqlite3.Connection, issue_id: str) -> sqlite3.Row:
        return _found(conn.execute(self._sql["issue_get"], (issue_id,)).fetchall(), issue_id)

    def _event(self, conn: sqlite3.Connection, issue_id: str, kind: EventKind, actor: str, data: dict) -> int:
        """Append an event in the caller's transaction; returns its number."""
        params = (issue_id, kind.value, actor, self.clock.now(), _EVENT_JSON(data))
        return conn.execute(self._sql["event_append"], params).lastrowid

    # -- create, read ---------------------------------------------------------------------

    def create(self, new: NewIssue, *, actor: str = "operator") -> Issue:
        """Add an issue (status ``open``, or ``blocked`` when ``new.blocked_reason`` is set)."""
        with self._write() as conn:
            return self._create_in(conn, new, actor)

    def _create_in(self, conn: sqlite3.Connection, new: NewIssue, actor: str) -> Issue:
        """Insert ``new`` and its ``created`` event in the caller's write transaction."""
        status = Status.BLOCKED if new.blocked_reason else Status.OPEN
        params = new.model_dump(exclude={"blocked_reason"}, mode="json") | {
            "labels": json.dumps(new.labels),
            "metadata": json.dumps(new.metadata),
            "checks": json.dumps(new.checks),
            "status": status.value,
            "blocking_notes": new.blocked_reason,
            "now": self.clock.now(),
        }
        params["id"] = self._insert_with_fresh_id(conn, params)
        self._event(conn, params["id"], EventKind.CREATED, actor, {"to": status.value, "title": new.title})
        return Issue.from_row(self._row(conn, params["id"]))

    def _insert_with_fresh_id(self, conn: sqlite3.Connection, params: dict) -> str:
        length = ids.DEFAULT_LENGTH
        while True:
            for _ in range(_ID_TRIES):
                candidate = ids.new_issue_id(self.id_prefix, length)
                if conn.execute(self._sql["issue_get"], (candidate,)).fetchone() is None:
                    conn.execute(self._sql["issue_insert"], params | {"id": candidate})
                    return candidate
            length += 1

    def get(self, issue_id: str) -> Issue:
        """One issue. Raises :class:`IssueNotFound`."""
        return Issue.from_row(_found(self._select(self._sql["issue_get"], (issue_id,)), issue_id))

    def show(self, issue_id: str) -> IssueDetail:
        """An issue with its notes, dependencies, dependents and attempts. Raises :class:`IssueNotFound`."""
        with self._read() as conn:
            issue = Issue.from_row(self._row(conn, issue_id))
            sql = self._sql
            return IssueDetail(
                issue=issue,
                notes=[Note(**_with_times(r)) for r in conn.execute(sql["notes_of"], (issue_id,))],
                dependencies=[Dependency(**_with_times(r)) for r in conn.execute(sql["deps_of"], (issue_id,))],
                dependents=[Dependency(**_with_times(r)) for r in conn.execute(sql["dependents_of"], (issue_id,))],
                attempts=[Attempt(**_with_times(r)) for r in conn.execute(sql["attempts_of"], (issue_id,))],
                evidence=[_event_from_row(r) for r in conn.execute(sql["evidence_of"], (issue_id,))],
            )

    def list(
        self,
        *,
        statuses: list[Status] | None = None,
        assignee: str | None = None,
        where: IssueFilter | None = None,
        none_of: list[IssueFilter] | None = None,
        limit: int | None = None,
    ) -> list[Issue]:
        """Issues oldest first, optionally by status, assignee and filter, and matching none of
        ``none_of`` (the claim filters of every worker plan: issues nobody would take); ``limit`` None = all."""
        fragment, params = issue_where(where, statuses=statuses, assignee=assignee, none_of=none_of,
                                       dialect=self.dialect)
        sql = self._sql["issue_list"].format(where=fragment)
        rows = self._select(sql, params | {"limit": NO_LIMIT if limit is None else limit})
        return [Issue.from_row(r) for r in rows]

    def ready(self, where: IssueFilter | None = None, *, limit: int | None = None) -> list[Issue]:
        """The ready queue: open issues with no open blocker or child, by priority then age."""
        with self._read() as conn:
            return [Issue.from_row(r) for r in self._ready_rows(conn, where, limit)]

    def _ready_rows(self, conn: sqlite3.Connection, where: IssueFilter | None, limit: int | None, issue_id: str | None = None):
        fragment, params = issue_where(where, issue_id=issue_id, dialect=self.dialect)
        sql = self._sql["issue_ready"].format(where=fragment)
        return conn.execute(sql, params | {"limit": NO_LIMIT if limit is None else limit}).fetchall()

    def counts(self) -> dict[str, int]:
        """Number of issues per status (every status present, zeros included)."""
        found = {r["status"]: r["n"] for r in self._select(self._sql["issue_counts"])}
        return {s.value: found.get(s.value, 0) for s in Status}

    def events(
        self, issue_id: str | None = None, *, kinds: list[EventKind] | None = None, after: int = 0, limit: int | None = None
    ) -> list[Event]:
        """Events in log order, optionally of one issue (or of the run: :data:`RUN_EVENTS`) / of some kinds / after an event id."""
        fragment, params = event_where(issue_id, kinds)
        sql = self._sql["events_list"].format(where=fragment)
        with self._read() as conn:
            if issue_id not in (None, RUN_EVENTS):
                self._row(conn, issue_id)
            rows = conn.execute(sql, params | {"after": after, "limit": NO_LIMIT if limit is None else limit})
            return [_event_from_row(r) for r in rows]

    def attempts(self, issue_id: str) -> list[Attempt]:
        """Every attempt (claim) of an issue, first first. Raises :class:`IssueNotFound`."""
        return self.show(issue_id).attempts

    # -- claims and leases ----------------------------------------------------------------

    def claim(self, issue_id: str, worker: str, *, ttl: float = DEFAULT_LEASE_TTL) -> Claim:
        """Claim one issue by id: exactly one concurrent claimer wins.

        Args:
            issue_id: the issue to claim.
            worker: the claimer's identity (becomes the assignee).
            ttl: lease length in seconds; renew it with :meth:`heartbeat`.

        Raises:
            IssueNotFound, IllegalTransition (not open), NotReady (open blocker or child),
            ClaimConflict (another worker holds it).
        """

        def pick(conn: sqlite3.Connection) -> sqlite3.Row:
            row = self._row(conn, issue_id)
            if row["status"] == Status.IN_PROGRESS:
                raise ClaimConflict(f"{issue_id} is already claimed by {row['assignee']}", id=issue_id, assignee=row["assignee"])
            find_transition(Action.CLAIM, Status(row["status"]))
            if not self._ready_rows(conn, None, 1, issue_id):
                raise NotReady(f"{issue_id} waits on an open blocker or child (see `foreman issues show {issue_id}`)", id=issue_id)
            claimed = self._claim_row(conn, _filled(self._sql["issue_claim"], pick=":id"), {"id": issue_id}, worker, ttl)
            if claimed is None:  # cannot happen under BEGIN IMMEDIATE; kept as the compare-and-swap's guard
                raise ClaimConflict(f"{issue_id} was claimed by another worker", id=issue_id)
            return claimed

        return claim_from_row(self._claim_after_sweep(pick), worker)

    def claim_next(self, worker: str, where: IssueFilter | None = None, *, ttl: float = DEFAULT_LEASE_TTL) -> Claim:
        """Claim the first ready issue matching ``where`` (priority, then age) in one transaction.

        Raises:
            NothingReady: no ready issue matches.
        """

        fragment, params = issue_where(where, dialect=self.dialect)  # built before the write lock is taken
        statement = _first_ready_claim(self._sql["issue_claim"], self._sql["issue_ready"], fragment)

        def pick(conn: sqlite3.Connection) -> sqlite3.Row:
            claimed = self._claim_row(conn, statement, params | {"limit": 1}, worker, ttl)
            if claimed is None:
                raise NothingReady("no ready issue matches the filter", filter=(where or IssueFilter()).model_dump(mode="json"))
            return claimed

        return claim_from_row(self._claim_after_sweep(pick), worker)

    def _claim_after_sweep(self, pick):
        """``pick`` a claim in one write transaction, expiring due leases first at most every
        :data:`SWEEP_INTERVAL` seconds per store; a refused claim keeps the expiries.

        A pick only ever takes an issue nobody holds, so skipping a sweep never hands out a live
        lease. A pick that finds nothing, or finds its issue held, sweeps at once and, if a lease
        expired, picks again: an expired lease waits for the next sweep only while other work is
        ready. Returns what ``pick`` returns (the claimed row; mapping it waits until the write lock
        is let go).
        """
        now = self.clock.now()
        due = now - self._swept_at >= SWEEP_INTERVAL
        with self._write() as conn:
            if due:
                self._sweep_in(conn, now)
            outcome = _outcome(pick, conn)
            if not due and isinstance(outcome, (NothingReady, ClaimConflict)) and self._sweep_in(conn, now):
                outcome = _outcome(pick, conn)
        if isinstance(outcome, IssueError):
            raise outcome
        return outcome

    def _sweep_in(self, conn: sqlite3.Connection, now: float) -> list[Issue]:
        """Expire due leases in the caller's transaction and note when (see :meth:`_claim_after_sweep`)."""
        self._swept_at = now
        return self._expire_due(conn)

    def _claim_row(self, conn: sqlite3.Connection, statement: str, params: dict[str, Any], worker: str,
                   ttl: float) -> sqlite3.Row | None:
        """Claim the open issue that ``statement`` (``issue_claim`` with its pick filled in, bound by
        ``params``) names, and log it.

        Returns the claimed row, or None when ``pick`` names no open issue.
        """
        check_ttl(ttl)
        now = self.clock.now()
        params = params | {"worker": worker, "lease_expires_at": now + ttl, "now": now}
        row = conn.execute(statement, params).fetchone()
        if row is not None:
            data = {"from": "open", "to": "in_progress", "token": row["fence"], "assignee": worker, "ttl": ttl}
            self._event(conn, row["id"], EventKind.CLAIMED, worker, data)
        return row

    def heartbeat(self, issue_id: str, token: int, *, ttl: float = DEFAULT_LEASE_TTL) -> Issue:
        """Renew the lease of a claim to ``now + ttl`` seconds.

        Raises:
            StaleToken: the token is not the current claim's. LeaseExpired: too late; the issue went back.
        """
        [outcome] = self.heartbeat_many([(issue_id, token, ttl)])
        if isinstance(outcome, IssueError):
            raise outcome
        return outcome

    def heartbeat_many(self, renewals: list[tuple[str, int, float]]) -> list[Issue | IssueError]:
        """Renew several claims' leases in one write transaction (a process's workers at one tick, issue 13).

        Args:
            renewals: ``(issue_id, token, ttl)`` per claim; each lease becomes ``now + ttl`` seconds.

        Returns one outcome per renewal, in order: the renewed issue, or the refusal that
        :meth:`heartbeat` would raise (StaleToken, LeaseExpired, IssueNotFound); one refusal never
        stops the others, and an expiry it found is kept.

        Raises:
            InvalidInput: a ttl out of range (nothing is renewed).
        """
        for _, _, ttl in renewals:
            check_ttl(ttl)
        with self._write() as conn:
            outcomes = [_outcome(self._transition, conn, issue_id, Action.HEARTBEAT, token=token,
                                 sets={"lease_expires_at": self.clock.now() + ttl})
                        for issue_id, token, ttl in renewals]
        return [o if isinstance(o, IssueError) else Issue.from_row(o) for o in outcomes]

    def release(self, issue_id: str, token: int, *, reason: str | None = None) -> Issue:
        """Give a claimed issue back to the queue (attempt outcome ``released``)."""
        with self._write() as conn:
            return self._apply(conn, issue_id, Action.RELEASE, token=token, error=reason)

    def fail(self, issue_id: str, token: int, *, error: str) -> Issue:
        """Record a failed attempt; back to ``open``, or ``dead_letter`` after ``max_attempts`` claims."""
        with self._write() as conn:
            return self._apply(conn, issue_id, Action.FAIL, token=token, error=error)

    def over_budget(self, issue_id: str, token: int, *, reason: str) -> Issue:
        """End the claim because the issue ran out of its budget: straight to ``dead_letter`` (issue 12).

        ``reason`` says which limit, e.g. ``"max_tokens 5000 reached (5210 tokens used)"``; the
        attempt's outcome reads ``budget``. Raises StaleToken / LeaseExpired like every fenced write.
        """
        with self._write() as conn:
            return self._apply(conn, issue_id, Action.OVER_BUDGET, token=token, error=reason)
    def revoke(self, issue_id: str, *, reason: str, actor: str = "operator") -> Issue:
        """Take a claim back without its token (the dashboard's kill, issue 10), in one transaction.

        The fencing token goes up by one and the lease ends, so the holder's next renewal or fenced
        write is refused (:class:`StaleToken`) and its runtime cancels the session. A work claim goes
        back to ``open``, its attempt ending as ``released`` (the event carries ``revoked: true``
        and ``error: "revoked by <actor>: <reason>"``); a review claim leaves the issue waiting for
        another review.

        Raises:
            IssueNotFound; IllegalTransition when nobody holds the issue (not in_progress or a held review).
        """
        with self._write() as conn:
            row = self._row(conn, issue_id)
            if row["lease_expires_at"] is None:
                raise IllegalTransition(f"nobody holds {issue_id} ({row['status']}); there is no claim to revoke",
                                        action=Action.REVOKE.value, status=row["status"])
            return self._apply(conn, issue_id, Action.REVOKE, actor=actor, sets={"fence": row["fence"] + 1},
                               error=f"revoked by {actor}: {reason}"[:500], extra={"revoked": True})

    def sweep(self) -> list[Issue]:
        """Expire every lease that ran out: each issue goes back to ``open`` or to ``dead_letter``."""
        with self._write() as conn:
            return self._expire_due(conn)

    def _expire_due(self, conn: sqlite3.Connection) -> list[Issue]:
        due = conn.execute(self._sql["leases_due"], {"now": self.clock.now()}).fetchall()
        return [self._apply(conn, row["id"], Action.EXPIRE, actor="sweeper", error="lease expired") for row in due]

    # -- worker and operator writes -------------------------------------------------------

    def note(self, issue_id: str, body: str, *, author: str = "operator", token: int | None = None) -> Note:
        """Append a note. With ``token`` it is the claim holder's note (author = assignee) and is fenced."""
        if not body.strip():
            raise InvalidInput("a note needs some text")
        with self._write() as conn:
            row = self._row(conn, issue_id)
            if token is not None:
                self._check_token(conn, row, token)
                author = row["assignee"]
            return self._note(conn, issue_id, author, body)

    def _note(self, conn: sqlite3.Connection, issue_id: str, author: str, body: str) -> Note:
        row = conn.execute(
            self._sql["note_append"], {"issue_id": issue_id, "author": author, "body": body, "now": self.clock.now()}
        ).fetchone()
        self._event(conn, issue_id, EventKind.NOTED, author, {"note_id": row["id"]})
        return Note(**_with_times(row))

    def block(self, issue_id: str, reason: str, *, actor: str = "operator", token: int | None = None) -> Issue:
        """Mark an issue blocked with a reason (kept in ``blocking_notes`` and as a note).

        A worker passes its token (in_progress -> blocked); an operator blocks an open issue.
        """
        if not reason.strip():
            raise InvalidInput("blocking needs a reason")
        with self._write() as conn:
            issue = self._apply(conn, issue_id, Action.BLOCK, token=token, actor=actor, sets={"blocking_notes": reason})
            self._note(conn, issue_id, issue.assignee if token is not None else actor, f"Blocked: {reason}")
            return issue

    def unblock(self, issue_id: str, note: str | None = None, *, actor: str = "operator") -> Issue:
        """blocked -> open; ``note`` (the missing input) is appended for the next worker."""
        with self._write() as conn:
            issue = self._apply(conn, issue_id, Action.UNBLOCK, actor=actor)
            if note:
                self._note(conn, issue_id, actor, f"Unblocked: {note}")
            return issue

    def close(self, issue_id: str, *, reason: str = "", actor: str = "operator", token: int | None = None) -> Issue:
        """Close an issue: the claim holder with its token, or an operator for an unclaimed issue."""
        with self._write() as conn:
            sets = {"close_reason": reason, "closed_at": self.clock.now()}
            row = self._transition(conn, issue_id, Action.CLOSE, token=token, actor=actor, sets=sets)
        return Issue.from_row(row)

    def reopen(self, issue_id: str, *, reason: str = "", actor: str = "operator") -> Issue:
        """closed | dead_letter -> open, with a fresh allowance of ``max_attempts`` claims."""
        with self._write() as conn:
            sets = {"close_reason": None, "closed_at": None, "attempts": 0}
            issue = self._apply(conn, issue_id, Action.REOPEN, actor=actor, sets=sets)
            if reason:
                self._note(conn, issue_id, actor, f"Reopened: {reason}")
            return issue

    def update(self, issue_id: str, changes: IssueUpdate, *, actor: str = "operator", token: int | None = None) -> Issue:
        """Change fields (not status). ``changes.metadata`` is merged; a ``None`` value removes a key."""
        given = changes.model_dump(exclude_unset=True, mode="json")
        if not given:
            raise InvalidInput("nothing to update")
        with self._write() as conn:
            row = self._row(conn, issue_id)
            if token is not None:
                self._check_token(conn, row, token)
            updated = Issue.from_row(self._set_guarded(conn, row, _update_columns(row, given)))
            self._event(conn, issue_id, EventKind.UPDATED, actor, {"fields": sorted(given)})
            return updated

    # -- verified work (issue 8) ---------------------------------------------------------

    def submit(self, issue_id: str, token: int, *, summary: str) -> Issue:
        """in_progress -> in_review: the builder's checks passed; a validator reviews it next.

        The builder stays the assignee (and becomes ``submitted_by``); ``summary`` becomes the close
        reason if the review passes. Raises StaleToken / LeaseExpired like every fenced write.
        """
        with self._write() as conn:
            return self._apply(conn, issue_id, Action.SUBMIT, token=token, sets={"close_reason": summary})

    def claim_review(self, worker: str, where: IssueFilter | None = None, *, ttl: float = DEFAULT_LEASE_TTL) -> Claim:
        """Take the review of the oldest unheld in_review issue matching ``where`` that ``worker`` did not build.

        The review is a fenced lease like any claim (heartbeat, release, expiry); each claim counts
        one of the submission's ``reviews``. Raises NothingReady when no review is waiting.
        """
        check_ttl(ttl)

        def pick(conn: sqlite3.Connection) -> Claim:
            fragment, params = issue_where(where, dialect=self.dialect)
            sql = self._sql["review_ready"].format(where=fragment)
            row = conn.execute(sql, params | {"worker": worker}).fetchone()
            if row is None:
                raise NothingReady("no issue waits for a review", filter=(where or IssueFilter()).model_dump(mode="json"))
            now = self.clock.now()
            claimed = conn.execute(self._sql["review_claim"],
                                   {"id": row["id"], "worker": worker, "lease_expires_at": now + ttl, "now": now}).fetchone()
            issue = Issue.from_row(claimed)
            data = {"from": "in_review", "to": "in_review", "token": issue.fence, "assignee": worker, "ttl": ttl,
                    "builder": issue.submitted_by}
            self._event(conn, issue.id, EventKind.REVIEW_CLAIMED, worker, data)
            return Claim(issue=issue, token=issue.fence, worker=worker, lease_expires_at=issue.lease_expires_at)

        return self._claim_after_sweep(pick)

    def verdict(self, issue_id: str, token: int, *, passed: bool, critical_issues: list[str],
                recommendations: list[str]) -> Issue:
        """A validator's answer on the review it holds: PASS closes the issue, FAIL sends it back.

        The verdict is recorded as evidence (a ``verdict`` event). FAIL appends the findings as a
        note the next builder sees and ends the builder's attempt as ``rejected``: back to open, or
        to dead letter once the issue has used ``max_attempts`` claims (seed 004: PASS/FAIL with
        critical issues). Raises StaleToken / LeaseExpired like every fenced write.
        """
        with self._write() as conn:
            row = self._row(conn, issue_id)
            self._check_token(conn, row, token)
            reviewer = row["assignee"]
            findings = {"verdict": "PASS" if passed else "FAIL", "critical_issues": critical_issues,
                        "recommendations": recommendations, "reviewer": reviewer, "builder": row["submitted_by"]}
            self._event(conn, issue_id, EventKind.VERDICT, reviewer, findings)
            if passed:
                return self._apply(conn, issue_id, Action.PASS, token=token, sets={"closed_at": self.clock.now()})
            summary = "; ".join(critical_issues) or "no reason given"
            issue = self._apply(conn, issue_id, Action.REJECT, token=token, error=f"review FAIL: {summary}"[:500])
            self._note(conn, issue_id, reviewer, _findings_note(critical_issues, recommendations))
            return issue

    # -- the one place status changes ----------------------------------------------------

    def _apply(self, conn: sqlite3.Connection, issue_id: str, action: Action, **how: Any) -> Issue:
        """:meth:`_transition`, returning the changed issue."""
        return Issue.from_row(self._transition(conn, issue_id, action, **how))

    def _transition(
        self,
        conn: sqlite3.Connection,
        issue_id: str,
        action: Action,
        *,
        token: int | None = None,
        actor: str | None = None,
        sets: dict[str, Any] | None = None,
        error: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Take ``action`` on an issue inside the caller's write transaction, writing its event (plus ``extra`` data).

        Returns the changed row; hot paths (close, heartbeat) map it after COMMIT, outside the write lock.
        A fenced action of :data:`HELD_ACTIONS` first tries :meth:`_write_held` (one statement, no
        row read); when the claim is not live as that statement requires, the full path below says why.
        """
        if token is not None and action in HELD_ACTIONS:
            changed = self._write_held(conn, issue_id, action, token, sets, _event_extra(error, extra))
            if changed is not None:
                return changed
        row = self._row(conn, issue_id)
        if token is not None:
            self._check_token(conn, row, token)
        source = Status(row["status"])
        exhausted = row[counter(action, source)] >= row["max_attempts"]
        edge = find_transition(action, source, exhausted=exhausted)
        if edge.fenced and token is None:
            raise ClaimConflict(
                f"{issue_id} is claimed by {row['assignee']}; only that claim's fencing token can {action.value} it",
                id=issue_id,
                assignee=row["assignee"],
            )
        actor = row["assignee"] if edge.fenced else actor
        changed = self._set_guarded(conn, row, _status_columns(edge, row) | (sets or {}))
        data = {"from": edge.source.value, "to": edge.target.value, "token": row["fence"]}
        self._event(conn, issue_id, edge.event, actor, data | _event_extra(error, extra))
        return changed

    def _write_held(self, conn: sqlite3.Connection, issue_id: str, action: Action, token: int,
                    sets: dict[str, Any] | None, extra: dict[str, Any]) -> sqlite3.Row | None:
        """Take ``action`` (one of :data:`HELD_ACTIONS`) on a live claim in one guarded UPDATE, writing its event.

        The UPDATE (``issue_set_held``) matches only an in_progress issue whose fencing token is
        ``token`` and whose lease has not run out, which is exactly when the full path would take
        the edge from in_progress; the row is not read first. Returns the changed row (the claim
        holder is its assignee and the event's actor), or None when nothing matched.
        """
        edge, held_columns = _held_edge(action)
        columns = held_columns | (sets or {})
        params = {f"set_{c}": v for c, v in columns.items()} | {"id": issue_id, "fence": token, "now": self.clock.now()}
        row = conn.execute(_guarded_update(self._sql["issue_set_held"], tuple(columns)), params).fetchone()
        if row is not None:
            data = {"from": edge.source.value, "to": edge.target.value, "token": token}
            self._event(conn, issue_id, edge.event, row["assignee"], data | extra)
        return row

    def _set_guarded(self, conn: sqlite3.Connection, row: sqlite3.Row, sets: dict[str, Any]) -> dict[str, Any]:
        """UPDATE ``sets`` if the row's status and fence are unchanged; returns the updated row.

        The row comes back from what was read and written, not from the database: every column a
        transition writes is a bound value, so reading it back (``RETURNING *``) would only cost time
        inside the write lock. The guard is checked unless :attr:`rows_locked_when_read`.
        """
        now = self.clock.now()
        params = {f"set_{c}": v for c, v in sets.items()}
        params |= {"id": row["id"], "source": row["status"], "fence": row["fence"], "now": now}
        written = conn.execute(_guarded_update(self._sql["issue_set_guarded"], tuple(sets)), params)
        if not self.rows_locked_when_read and written.rowcount != 1:
            raise ClaimConflict(f"{row['id']} changed under this write", id=row["id"])
        return dict(row) | sets | {"updated_at": now}

    def _check_token(self, conn: sqlite3.Connection, row: sqlite3.Row, token: int) -> None:
        """A fenced write needs the current claim's token and a live lease."""
        if row["lease_expires_at"] is None or row["fence"] != token:
            raise StaleToken(
                f"token {token} is not the current claim of {row['id']} (status {row['status']}, "
                f"current token {row['fence']}); this worker no longer owns the issue",
                id=row["id"],
                token=token,
            )
        if row["lease_expires_at"] <= self.clock.now():
            self._apply(conn, row["id"], Action.EXPIRE, actor="sweeper", error="lease expired")
            raise LeaseExpired(
                f"the lease on {row['id']} expired before this write; the issue went back to the queue",
                id=row["id"],
                token=token,
            )

    # -- dependencies ---------------------------------------------------------------------

    def dep_add(
        self, issue_id: str, depends_on: str, dep_type: DependencyType = DependencyType.BLOCKS, *, actor: str = "operator"
    ) -> Dependency:
        """Record that ``issue_id`` depends on ``depends_on`` (parent-child: child, parent).

        Raises:
            IssueNotFound, InvalidInput (self-dependency), DependencyCycle (gating edge closing a loop).
        """
        if issue_id == depends_on:
            raise InvalidInput(f"{issue_id} cannot depend on itself")
        with self._write() as conn:
            self._row(conn, issue_id)
            self._row(conn, depends_on)
            waiter, waited = (depends_on, issue_id) if dep_type == DependencyType.PARENT_CHILD else (issue_id, depends_on)
            if dep_type.gates and conn.execute(self._sql["dep_reaches"], {"start": waited, "target": waiter}).fetchone():
                raise DependencyCycle(
                    f"{waiter} would wait on {waited}, which already waits on {waiter}", id=issue_id, depends_on=depends_on
                )
            params = {"issue_id": issue_id, "depends_on": depends_on, "type": dep_type.value, "now": self.clock.now()}
            if conn.execute(self._sql["dep_insert"], params).rowcount:
                self._event(conn, issue_id, EventKind.DEPENDENCY_ADDED, actor, {"depends_on": depends_on, "type": dep_type.value})
            return Dependency(issue_id=issue_id, depends_on=depends_on, type=dep_type, created_at=from_epoch(params["now"]))

    def dep_remove(
        self, issue_id: str, depends_on: str, dep_type: DependencyType = DependencyType.BLOCKS, *, actor: str = "operator"
    ) -> None:
        """Remove a dependency edge. Raises :class:`IssueNotFound` when the edge does not exist."""
        with self._write() as conn:
            params = {"issue_id": issue_id, "depends_on": depends_on, "type": dep_type.value}
            if not conn.execute(self._sql["dep_delete"], params).rowcount:
                raise IssueNotFound(f"no {dep_type.value} dependency {issue_id} -> {depends_on}", id=issue_id)
            self._event(conn, issue_id, EventKind.DEPENDENCY_REMOVED, actor, {"depends_on": depends_on, "type": dep_type.value})

    def record_events(self, events: list[tuple[str, EventKind, str, dict[str, Any]]]) -> int:
        """Append events that change nothing else, ``(issue_id, kind, actor, data)`` each, in one transaction.

        Used for what agent sessions did on their issues (the foreman's under :data:`RUN_EVENTS`).
        Returns how many were written; an event of an unknown issue is skipped (its issue id is
        checked, never invented).
        """
        with self._write() as conn:
            known = [e for e in events
                     if e[0] == RUN_EVENTS or conn.execute(self._sql["issue_get"], (e[0],)).fetchone() is not None]
            for issue_id, kind, actor, data in known:
                self._event(conn, issue_id, kind, actor, data)
            return len(known)

    # -- fleet state ----------------------------------------------------------------------

    def set_state(self, key: str, value: Any) -> None:
        """Store a JSON-serialisable value under ``key`` (shared by every process on this database)."""
        with self._write() as conn:
            conn.execute(self._sql["state_put"], {"key": key, "value": json.dumps(value), "now": self.clock.now()})

    def request_stop(self, mode: str, *, actor: str = "operator") -> None:
        """Ask every process of the run to stop (issue 10): ``graceful`` (like one Ctrl-C) or ``emergency`` (two).

        Writes ``fleet_state[STOP_REQUEST] = {"mode", "actor", "at"}`` and a run-level
        ``stop_requested`` event in one transaction; the fleet and every worker process poll the
        key (``workers/stop_requests.py``) and obey requests made after they started.

        Raises:
            InvalidInput: ``mode`` is not one of :data:`STOP_MODES`.
        """
        if mode not in STOP_MODES:
            raise InvalidInput(f"stop mode must be one of {', '.join(STOP_MODES)}, not {mode!r}")
        request = {"mode": mode, "actor": actor, "at": self.clock.now()}
        with self._write() as conn:
            conn.execute(self._sql["state_put"], {"key": STOP_REQUEST, "value": json.dumps(request), "now": request["at"]})
            self._event(conn, RUN_EVENTS, EventKind.STOP_REQUESTED, actor, {"mode": mode})

    def get_state(self, key: str, default: Any = None) -> Any:
        """The value stored under ``key``, or ``default``."""
        rows = self._select(self._sql["state_get"], (key,))
        return json.loads(rows[0]["value"]) if rows else default

    def create_keyed(self, news: list[NewIssue], *, key: str, actor: str = "operator") -> list[tuple[Issue, bool]]:
        """Create each issue unless one with the same ``metadata[key]`` exists, all in one transaction.

        Makes planning idempotent: a task list planned twice (``--resume`` after a kill) creates
        every task once. Each of ``news`` must carry ``metadata[key]``.

        Returns:
            ``(issue, created)`` per entry of ``news``, in order: the new issue, or the one already there.

        Raises:
            InvalidInput: a key outside ``[A-Za-z0-9_-]{1,64}``, or an entry without ``metadata[key]``.
        """
        if not KEY_PATTERN.match(key):
            raise InvalidInput(f"metadata key {key!r} must be 1-64 letters, digits, '_' or '-'")
        if any(new.metadata.get(key) is None for new in news):
            raise InvalidInput(f"every issue created by key needs metadata[{key!r}]")
        results: list[tuple[Issue, bool]] = []
        with self._write() as conn:
            for new in news:
                found = conn.execute(self._sql["issue_by_key"], {"path": f'$."{key}"', "value": new.metadata[key]}).fetchone()
                results.append((Issue.from_row(found), False) if found else (self._create_in(conn, new, actor), True))
        return results

    def run_lock_acquire(
        self, holder: dict[str, Any], *, stale_after: float, replacing: str | None = None
    ) -> tuple[dict[str, Any], float]:
        """Take the database's run lock (one ``foreman run`` per database) for ``holder``, in one transaction.

        Args:
            holder: JSON object naming the run; needs a unique ``run_id`` (plus e.g. host and pid).
            stale_after: seconds without a heartbeat after which another holder's lock is taken over.
            replacing: the ``run_id`` of a holder the caller knows is dead (its process is gone): taken over at once.

        Returns:
            ``(holder, heartbeat_age)`` after the call: ``holder`` itself when taken (age 0), else
            the live holder that keeps the lock and the seconds since its last heartbeat.
        """
        now = self.clock.now()
        with self._write() as conn:
            row = conn.execute(self._sql["run_lock_get"], {"key": RUN_LOCK_KEY}).fetchone()
            if row is not None:
                current, age = json.loads(row["value"]), now - row["updated_at"]
                if age <= stale_after and current.get("run_id") not in (holder["run_id"], replacing):
                    return current, age
            conn.execute(self._sql["state_put"], {"key": RUN_LOCK_KEY, "value": json.dumps(holder), "now": now})
        return holder, 0.0

    def run_lock_renew(self, run_id: str) -> bool:
        """Heartbeat the run lock; False when ``run_id`` no longer holds it (taken over as stale)."""
        with self._write() as conn:
            params = {"key": RUN_LOCK_KEY, "run_id": run_id, "now": self.clock.now()}
            return conn.execute(self._sql["run_lock_renew"], params).rowcount == 1

    def run_lock_release(self, run_id: str) -> None:
        """Drop the run lock if ``run_id`` still holds it (a lock taken over meanwhile is left alone)."""
        with self._write() as conn:
            conn.execute(self._sql["run_lock_release"], {"key": RUN_LOCK_KEY, "run_id": run_id})

    def worker_put(self, status: WorkerStatus) -> None:
        """Insert or replace the reported status of ``status.name``; its ``heartbeat_at`` becomes now."""
        self.workers_put([status])

    def workers_put(self, statuses: list[WorkerStatus]) -> None:
        """:meth:`worker_put` of every status in ``statuses`` in one transaction (the rows of a
        process's workers, written together); every ``heartbeat_at`` becomes the same now."""
        now = self.clock.now()
        with self._write() as conn:
            for status in statuses:
                conn.execute(self._sql["worker_put"], status.model_dump(exclude={"heartbeat_at"}) | {"now": now})

    def worker_list(self, *, since: float = 0.0) -> list[WorkerStatus]:
        """Reported worker statuses written at or after ``since`` (seconds since the epoch), by name."""
        rows = self._select(self._sql["worker_list"], {"since": since})
        return [WorkerStatus(**dict(r) | {"heartbeat_at": from_epoch(r["heartbeat_at"])}) for r in rows]


# -- helpers ----------------------------------------------------------------------------


@lru_cache(maxsize=256)
def _filled(template: str, **parts: str) -> str:
    """``template`` with its ``{name}`` parts filled in, formatted once per distinct text and kept (a
    filter's fragment holds only placeholders, so a process meets a handful of distinct texts)."""
    return template.format(**parts)


@lru_cache(maxsize=256)
def _first_ready_claim(claim: str, ready: str, where: str) -> str:
    """``issue_claim`` (``claim``) of the first row of ``issue_ready`` (``ready``) filtered by ``where``:
    :func:`_filled` twice, kept as one text per filter (claim_next asks for it on every claim)."""
    return _filled(claim, pick=f"(SELECT id FROM ({_filled(ready, where=where)}))")


@lru_cache(maxsize=256)
def _guarded_update(template: str, columns: tuple[str, ...]) -> str:
    """``issue_set_guarded`` setting ``columns``, each bound as ``:set_<column>``, built once per column set."""
    return template.format(sets=", ".join(f"{column} = :set_{column}" for column in columns))


def _found(rows: list[sqlite3.Row], issue_id: str) -> sqlite3.Row:
    """The issue row of a lookup by id. Raises :class:`IssueNotFound` when there is none."""
    if not rows:
        raise IssueNotFound(f"no issue {issue_id!r}", id=issue_id)
    return rows[0]


@lru_cache(maxsize=None)
def _held_edge(action: Action) -> tuple[Transition, dict[str, Any]]:
    """The edge of ``action`` from in_progress and the columns it sets (:data:`HELD_ACTIONS`: they do
    not depend on the row), looked up once per action. The dict is shared: callers merge, never change it."""
    edge = find_transition(action, Status.IN_PROGRESS)
    return edge, _status_columns(edge, None)


def _status_columns(edge: Transition, row: sqlite3.Row | None) -> dict[str, Any]:
    """Columns a transition sets besides what the caller passes.

    Leaving a leased status ends the lease. A closed or blocked issue keeps its builder as assignee
    (a reviewed one: the builder who submitted it, not the validator); an issue going back to wait
    for a review gets its builder back too. ``row`` is read only for an edge from in_review and for
    submit: from in_progress the builder already is the assignee (so :data:`HELD_ACTIONS` pass None).
    """
    if edge.target == Status.IN_PROGRESS or edge.action in (Action.REVIEW, Action.HEARTBEAT):
        return {}
    columns: dict[str, Any] = {"status": edge.target.value, "lease_expires_at": None}
    if edge.target not in (Status.CLOSED, Status.BLOCKED, Status.IN_REVIEW):
        columns["assignee"] = None
    elif edge.source == Status.IN_REVIEW:
        columns["assignee"] = row["submitted_by"]
    if edge.action == Action.SUBMIT:
        columns |= {"submitted_by": row["assignee"], "reviews": 0}
    return columns | ({} if edge.target == Status.BLOCKED else {"blocking_notes": None})


def _event_extra(error: str | None, extra: dict[str, Any] | None) -> dict[str, Any]:
    """What a transition's event carries besides from/to/token: the attempt's ``error`` and ``extra``."""
    return ({"error": error} if error else {}) | (extra or {})


def _update_columns(row: sqlite3.Row, given: dict[str, Any]) -> dict[str, Any]:
    sets = {k: v for k, v in given.items() if k not in ("labels", "metadata", "checks")}
    for key in ("labels", "checks"):
        if key in given:
            sets[key] = json.dumps(given[key])
    if "metadata" in given:
        merged = json.loads(row["metadata"]) | given["metadata"]
        sets["metadata"] = json.dumps({k: v for k, v in merged.items() if v is not None})
    return sets


def _findings_note(critical_issues: list[str], recommendations: list[str]) -> str:
    """The note a FAIL verdict leaves for the next builder."""
    lines = ["Review FAIL. Critical issues:"] + [f"- {c}" for c in critical_issues or ["(none given)"]]
    if recommendations:
        lines += ["Recommendations:"] + [f"- {r}" for r in recommendations]
    return "\n".join(lines)


def _outcome(call, *args, **kwargs):
    """What ``call(*args, **kwargs)`` returns, or the :class:`IssueError` it raised (the transaction goes on)."""
    try:
        return call(*args, **kwargs)
    except IssueError as refusal:
        return refusal


def claim_from_row(row: sqlite3.Row, worker: str) -> Claim:
    """The :class:`Claim` of a row :meth:`SQLiteStore._claim_row` returned (built after COMMIT)."""
    issue = Issue.from_row(row)
    return Claim(issue=issue, token=issue.fence, worker=worker, lease_expires_at=issue.lease_expires_at)


def _with_times(row: sqlite3.Row) -> dict[str, Any]:
    data = dict(row)
    for key in ("created_at", "started_at", "ended_at"):
        if key in data:
            data[key] = from_epoch(data[key])
    return data


def _event_from_row(row: sqlite3.Row) -> Event:
    data = _with_times(row)
    data["data"] = json.loads(data["data"])
    return Event(**data)


def _connect(path: str, *, create: bool, busy_timeout: float) -> sqlite3.Connection:
    if path != ":memory:" and not create and not Path(path).exists():
        raise DatabaseMissing(
            f"no issue database at {path}; creating an issue starts one there, or pass --db / set FOREMAN_DB",
            path=path,
        )
    if path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    with _translated_errors(path):
        conn = _writer(path, busy_timeout)
        conn.execute("PRAGMA journal_mode = WAL")
        _check_is_issue_database(conn, path, create)
        migrate(conn)
    return conn


def _writer(path: str, busy_timeout: float) -> sqlite3.Connection:
    """A write connection to ``path`` with the store's settings; none of them takes a lock (the file's
    WAL mode is set once, by :func:`_connect`)."""
    conn = sqlite3.connect(path, isolation_level=None, timeout=busy_timeout, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_CHECKPOINT_PAGES}")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def _check_is_issue_database(conn: sqlite3.Connection, path: str, create: bool) -> None:
    """Refuse to adopt an SQLite file that holds something else (never migrate on top of it)."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    tables = conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
    if version == 0 and tables:
        raise DatabaseUnreadable(f"{path} is an SQLite file but not an issue database; nothing was changed", path=path)
    if version == 0 and not create:
        raise DatabaseMissing(f"the issue database at {path} is empty (still being created?); creating an issue starts it",
                              path=path)


#: what sqlite3 raises for a fault of the database or of a value it cannot bind (see :func:`_database_error`)
SQLITE_FAULTS = (sqlite3.DatabaseError, OverflowError, UnicodeEncodeError)


@contextmanager
def _translated_errors(path: str) -> Iterator[None]:
    """Turn sqlite3 faults (and values SQLite cannot bind) into one clear :class:`IssueError` each.

    The failed transaction has been rolled back, so nothing changed. See :func:`_database_error`.
    """
    try:
        yield
    except SQLITE_FAULTS as exc:
        raise _database_error(path, exc) from exc


def _database_error(path: str, exc: Exception) -> IssueError:
    """The error to raise for one of :data:`SQLITE_FAULTS`: a number past 64 bits, text that is not
    UTF-8, or an SQLite result code (``SQLITE_IOERR_WRITE`` is read as ``IOERR``).

    A full disk shows as ``SQLITE_FULL``, or as an I/O error when even the ``-shm`` file cannot
    grow: an I/O error with less than :data:`~foreman.issues.limits.DISK_FULL_BYTES` free is a full
    disk. Only "not a database" and "corrupt" suggest a backup.
    """
    if isinstance(exc, OverflowError):  # sqlite3 cannot bind a Python int past 64 bits
        return NumberOutOfRange(f"a number is too large for the database ({exc}); nothing was changed")
    if isinstance(exc, UnicodeEncodeError):  # a lone surrogate: non-UTF-8 bytes from argv, or an escaped one in JSON
        return InvalidText(f"text is not valid UTF-8 at character {exc.start + 1}; nothing was changed")
    kind = (getattr(exc, "sqlite_errorname", None) or "").split("_")[1:2]
    if kind == ["FULL"] or (kind == ["IOERR"] and _disk_nearly_full(path)):
        return DiskFull(f"the disk holding {path} is full ({exc}); nothing was changed. Free some space and retry",
                        path=path)
    if kind in (["BUSY"], ["LOCKED"]):
        return DatabaseUnreadable(f"{path} stayed locked by another writer ({exc}); try again", path=path)
    if kind in (["NOTADB"], ["CORRUPT"]):
        return DatabaseUnreadable(
            f"{path} is not a readable issue database ({exc}); nothing was changed. "
            "Restore it from a backup, or pass --db to use another file",
            path=path,
        )
    return DatabaseUnreadable(f"cannot use the issue database at {path}: {exc}; nothing was changed", path=path)


def _disk_nearly_full(path: str) -> bool:
    """True when the folder of ``path`` has less than DISK_FULL_BYTES free (False if it cannot be told)."""
    try:
        return shutil.disk_usage(Path(path).parent).free < DISK_FULL_BYTES
    except OSError:
        return False
