"""The PostgreSQL issue store (issue 11): one queue for workers on many machines.

It runs the SQLite store's transaction logic (state machine, fencing, events in the same
transaction, dead letter) unchanged and replaces its plumbing: a ``psycopg_pool`` connection pool
instead of one file, the statements of ``sql/postgres/queries.sql``, row locks instead of
SQLite's single writer. Differences that matter:

* ``claim_next`` is one statement: ``UPDATE ... WHERE id = (SELECT ... FOR UPDATE SKIP LOCKED)``
  that also writes the ``claimed`` event, so concurrent claimers skip each other's rows.
* Writes lock the rows they read (``SELECT ... FOR UPDATE``); lease sweeps skip rows another
  sweeper holds, and claims sweep at most once a second per store (``_claim_after_sweep``); dependency edges, keyed creates and the run lock are serialised by an advisory lock.
* "now" is the server's clock (its offset from this process's monotonic clock, re-read every 10 s)
  unless a clock is injected, so workers whose clocks disagree still agree on lease expiry.
* Each transaction is pipelined: BEGIN rides with its first statement and COMMIT with its last
  ones, so a transaction costs one round trip per result it reads plus one to commit.
* A transaction whose connection drops (server restart, ``pg_terminate_backend``) or that loses a
  deadlock / serialisation check is retried on a fresh connection; a connection lost during COMMIT
  is reported, never retried (the claim may have landed; it then expires with its lease).
* :meth:`wait_for_change` listens on channel ``foreman_issues`` (see the migration's trigger).
"""

from __future__ import annotations

import functools
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import psycopg_pool
from psycopg import errors as pg_errors
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import dict_row

from foreman.issues import ids
from foreman.issues.clock import Clock
from foreman.issues.errors import (
    DatabaseMissing,
    DatabaseUnreadable,
    InvalidInput,
    InvalidText,
    IssueError,
    LeaseExpired,
    NothingReady,
    NumberOutOfRange,
    SchemaTooNew,
)
from foreman.issues.filters import issue_where
from foreman.issues.models import Claim, DependencyType, Dependency, EventKind, Issue, IssueFilter, NewIssue
from foreman.issues.sql_queries import migrations, queries, schema_version
from foreman.issues.limits import check_ttl
from foreman.issues.sqlite_store import DEFAULT_LEASE_TTL, SQLiteStore, claim_from_row

SQL_FOLDER = "sql/postgres"
SCHEMA = "foreman"  #: the PostgreSQL schema (namespace) holding the tables; other schemas are left alone
CHANNEL = "foreman_issues"  #: LISTEN/NOTIFY channel; the payload is the changed issue's id
CLOCK_RESYNC = 10.0  # seconds between readings of the server's clock
CONNECT_TIMEOUT = 10  # seconds to reach the server before "cannot reach"
POOL_SIZE = 4  # connections per store (one process); PostgreSQL's default max_connections is 100
RETRIES = 5  # times a transaction is retried after a dropped connection, deadlock or serialisation failure
RETRY_PAUSE = 0.05  # seconds before the first retry, doubled each time
MIGRATION_LOCK = 0x666F7265  # advisory lock key: one migrator at a time ("fore")
WRITE_LOCK = 0x6D616E31  # advisory lock key of writes that read-then-insert across rows ("man1")
_PLACEHOLDER = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


class _Retry(DatabaseUnreadable):
    """A transaction that failed before COMMIT for a reason another attempt can cure (internal)."""


class PostgresStore(SQLiteStore):
    """Issue store on a PostgreSQL database; safe to share between threads, processes and machines.

    Args:
        url: ``postgresql://user:password@host:port/database`` (libpq's URL; ``?sslmode=`` etc. pass through).
        clock: source of "now" (seconds); defaults to the server's clock (:class:`_ServerClock`).
        create: create the schema (``foreman``) when the database has none; the database must exist.
        pool_size: most connections this store opens at once.

    Raises:
        DatabaseMissing: no such database on the server, or no issue schema in it and ``create`` is false.
        DatabaseUnreadable: server unreachable, login refused (wrong password), or not an issue schema.
        SchemaTooNew: the schema was written by a newer version of this program.
    """

    dialect = "postgres"
    can_wake = True  #: :meth:`wait_for_change` returns as soon as another process changes the queue
    inline_reads = False  #: a read is a network round trip: async callers read in a thread
    inline_writes = False  #: so is a write: async callers write in a thread
    rows_locked_when_read = True  #: ``_row`` reads with ``FOR UPDATE`` in a write: a guarded write is pipelined

    def __init__(self, url: str, *, clock: Clock | None = None, create: bool = False, pool_size: int = POOL_SIZE,
                 id_prefix: str = ids.DEFAULT_PREFIX) -> None:
        self.path = url  #: where other processes open it (password included); messages use the redacted form
        self.where = _redacted(url)
        self.clock = clock or _ServerClock(self)
        self.id_prefix = id_prefix
        self._sql = queries(SQL_FOLDER)
        self._tx = threading.local()
        self._listener: psycopg.Connection | None = None
        self._listener_lock = threading.Lock()
        with _connect_errors(self.where):
            with psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT, autocommit=True) as conn:
                _migrate(conn, create=create, where=self.where)
            self._pool = psycopg_pool.ConnectionPool(
                url, min_size=1, max_size=pool_size, open=False, timeout=CONNECT_TIMEOUT, configure=_configure,
                kwargs={"autocommit": True, "row_factory": dict_row, "connect_timeout": CONNECT_TIMEOUT},
            )
            self._pool.open(wait=True, timeout=CONNECT_TIMEOUT)

    # -- plumbing -------------------------------------------------------------------------

    def disconnect(self) -> None:
        """Close the pool and the listening connection (the store is unusable afterwards)."""
        with self._listener_lock:
            if self._listener is not None:
                self._listener.close()
        self._pool.close()

    def wait_for_change(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for a NOTIFY on :data:`CHANNEL` (an issue appeared, became
        claimable or closed). Returns True when woken; False on timeout, when listening failed, or at
        once when another thread of this process is already listening (the caller then polls, as with
        SQLite, so idle in-process workers never pile up threads here)."""
        if not self._listener_lock.acquire(blocking=False):
            return False
        with _released(self._listener_lock):
            try:
                if self._listener is None or self._listener.closed:
                    self._listener = psycopg.connect(self.path, autocommit=True, connect_timeout=CONNECT_TIMEOUT)
                    self._listener.execute(f"LISTEN {CHANNEL}")
                woken = any(True for _ in self._listener.notifies(timeout=timeout, stop_after=1))
                while woken and any(True for _ in self._listener.notifies(timeout=0, stop_after=1)):
                    pass  # drain: one wake-up per burst of changes
                return woken
            except psycopg.Error:
                if self._listener is not None:
                    self._listener.close()
                time.sleep(timeout)
                return False

    @contextmanager
    def _write(self) -> Iterator[_Connection]:
        """One read-committed write transaction; commits on success and on LeaseExpired (like SQLite's)."""
        with self._transaction("BEGIN") as conn:
            if getattr(self._tx, "serialised", False):
                conn.execute(self._sql["advisory_lock"], {"key": WRITE_LOCK})
            yield conn

    @contextmanager
    def _read(self) -> Iterator[_Connection]:
        """One read-only transaction on one snapshot (REPEATABLE READ)."""
        with self._transaction("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") as conn:
            yield conn

    def _select(self, sql: str, params: Any = ()) -> list[Any]:
        """As :meth:`SQLiteStore._select`, in a read-only transaction of its own."""
        with self._read() as conn:
            return conn.execute(sql, params).fetchall()

    @contextmanager
    def _transaction(self, begin: str) -> Iterator[_Connection]:
        tx = self._tx
        if getattr(tx, "conn", None) is not None:
            raise RuntimeError("nested store transaction")  # a bug: every store method is one transaction
        with _translated_errors(self.where), self._pool.connection() as raw:
            with _committing() as commit, raw.pipeline() as pipeline:
                conn = _Connection(raw, pipeline)
                raw.execute(begin)
                tx.conn, tx.writing = conn, begin == "BEGIN"
                try:
                    yield conn
                except LeaseExpired:
                    commit(raw)  # the expiry it wrote must stay
                    raise
                except BaseException:
                    if not raw.broken:
                        raw.execute("ROLLBACK")
                    raise
                else:
                    commit(raw)
                finally:
                    tx.conn = None

    def _row(self, conn: _Connection, issue_id: str):
        """The issue's row; in a write transaction it stays locked until the transaction ends."""
        query = "issue_get_locked" if getattr(self._tx, "writing", False) else "issue_get"
        row = conn.execute(self._sql[query], (issue_id,)).fetchone()
        if row is None:
            return super()._row(conn, issue_id)  # raises IssueNotFound with the usual message
        return row

    def _event(self, conn: _Connection, issue_id: str, kind: EventKind, actor: str, data: dict) -> None:
        """Append an event in the caller's transaction, without waiting for it (pipelined with what follows)."""
        params = {"issue_id": issue_id, "kind": kind.value, "actor": actor, "now": self.clock.now(), "data": json.dumps(data)}
        conn.execute(self._sql["event_append"], params)

    # -- what PostgreSQL does differently -------------------------------------------------

    def claim_next(self, worker: str, where: IssueFilter | None = None, *, ttl: float = DEFAULT_LEASE_TTL) -> Claim:
        """Claim the first ready issue matching ``where`` in one statement (``FOR UPDATE SKIP LOCKED``).

        Raises:
            NothingReady: no ready issue matches (or every match is being claimed right now).
        """
        check_ttl(ttl)

        def pick(conn: _Connection) -> dict[str, Any]:
            fragment, params = issue_where(where, dialect=self.dialect)
            now = self.clock.now()
            params |= {"worker": worker, "lease_expires_at": now + ttl, "now": now, "ttl": ttl}
            row = conn.execute(self._sql["issue_claim_next"].format(where=fragment), params).fetchone()
            if row is None:
                raise NothingReady("no ready issue matches the filter", filter=(where or IssueFilter()).model_dump(mode="json"))
            return row

        return claim_from_row(self._claim_after_sweep(pick), worker)

    def dep_add(self, issue_id: str, depends_on: str, dep_type: DependencyType = DependencyType.BLOCKS, *,
                actor: str = "operator") -> Dependency:
        """As :meth:`SQLiteStore.dep_add`; serialised so two concurrent edges cannot close a cycle."""
        with self._serialised():
            return super().dep_add(issue_id, depends_on, dep_type, actor=actor)

    def create_keyed(self, news: list[NewIssue], *, key: str, actor: str = "operator") -> list[tuple[Issue, bool]]:
        """As :meth:`SQLiteStore.create_keyed`; serialised so a key is never created twice."""
        with self._serialised():
            return super().create_keyed(news, key=key, actor=actor)

    def run_lock_acquire(self, holder: dict[str, Any], *, stale_after: float, replacing: str | None = None):
        """As :meth:`SQLiteStore.run_lock_acquire`; serialised so two runs cannot both take the lock."""
        with self._serialised():
            return super().run_lock_acquire(holder, stale_after=stale_after, replacing=replacing)

    @contextmanager
    def _serialised(self) -> Iterator[None]:
        self._tx.serialised = True
        try:
            yield
        finally:
            self._tx.serialised = False


class _ServerClock:
    """The server's clock, as this process's monotonic clock plus an offset re-read every
    :data:`CLOCK_RESYNC` seconds (reading ``now()`` in every transaction cost two statements per
    claim+close). Workers whose wall clocks disagree, or jump, still agree on lease expiry."""

    def __init__(self, store: PostgresStore) -> None:
        self._store = store
        self._offset, self._synced = 0.0, -CLOCK_RESYNC

    def now(self) -> float:
        """Seconds since the epoch by the PostgreSQL server's clock (to within half a round trip)."""
        if time.monotonic() - self._synced >= CLOCK_RESYNC:
            self._sync()
        return time.monotonic() + self._offset

    def _sync(self) -> None:
        query = self._store._sql["server_now"]
        conn = getattr(self._store._tx, "conn", None)
        sent = time.monotonic()
        if conn is not None:  # inside a transaction: ask on its connection (the pool may have none free)
            server = conn.execute(query).fetchone()["now"]
        else:
            with _translated_errors(self._store.where), self._store._pool.connection() as raw:
                server = raw.execute(query).fetchone()["now"]
        received = time.monotonic()
        self._offset, self._synced = server - (sent + received) / 2, received


class _Connection:
    """A pipelined psycopg connection that accepts the SQLite store's ``:name`` / ``?`` placeholders.

    Statements are sent without waiting; reading a result (fetch, iterate, ``rowcount``) waits for it.
    """

    def __init__(self, raw: psycopg.Connection, pipeline: psycopg.Pipeline) -> None:
        self.raw, self.pipeline = raw, pipeline

    def execute(self, sql: str, params: Any = None) -> _Result:
        return _Result(self.raw.execute(_placeholders(sql), params), self.pipeline)


class _Result:
    """A pipelined statement's cursor: fetching syncs by itself, ``rowcount`` is made to sync too."""

    def __init__(self, cursor: psycopg.Cursor, pipeline: psycopg.Pipeline) -> None:
        self._cursor, self._pipeline = cursor, pipeline

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self._cursor.fetchall())

    @property
    def rowcount(self) -> int:
        self._pipeline.sync()
        return self._cursor.rowcount


@functools.lru_cache(maxsize=512)
def _placeholders(sql: str) -> str:
    """``:name`` -> ``%(name)s`` and ``?`` -> ``%s`` (``::`` casts and ``%`` literals kept)."""
    return _PLACEHOLDER.sub(r"%(\1)s", sql.replace("%", "%%")).replace("?", "%s")


@contextmanager
def _released(lock: threading.Lock) -> Iterator[None]:
    """Release ``lock`` (already acquired by the caller) when the block ends."""
    try:
        yield
    finally:
        lock.release()


def _configure(conn: psycopg.Connection) -> None:
    """Each pooled connection resolves table names in schema :data:`SCHEMA`."""
    conn.execute(f"SET search_path = {SCHEMA}")


@contextmanager
def _committing() -> Iterator[Callable[[psycopg.Connection], None]]:
    """Yields ``commit(raw)``, which queues COMMIT on the pipeline; the pipeline's end sends it with
    the statements still queued and waits for all of them (one round trip). A connection lost after
    COMMIT was queued leaves the outcome unknown, so it is reported, never retried.

    Raises:
        DatabaseUnreadable: the connection was lost while committing.
    """
    queued = False

    def commit(raw: psycopg.Connection) -> None:
        nonlocal queued
        raw.execute("COMMIT")
        queued = True

    try:
        yield commit
    except psycopg.OperationalError as exc:
        if not queued:
            raise
        raise DatabaseUnreadable(
            f"lost the connection to PostgreSQL while committing ({exc}); the change may or may not have been "
            "saved: check with `foreman issues show`. A claim made then expires with its lease"
        ) from exc


def _retried(method: Callable) -> Callable:
    """Run a store method again (up to :data:`RETRIES` times) when its transaction hit a :class:`_Retry`."""

    @functools.wraps(method)
    def run(self, *args, **kwargs):
        pause = RETRY_PAUSE
        for attempt in range(RETRIES + 1):
            try:
                return method(self, *args, **kwargs)
            except _Retry:
                if attempt == RETRIES:
                    raise
                time.sleep(pause)
                pause *= 2
        raise AssertionError("unreachable")

    return run


_ONE_TRANSACTION = [
    "create", "get", "show", "list", "ready", "counts", "events", "claim", "claim_next", "heartbeat", "heartbeat_many",
    "submit", "claim_review", "verdict", "release", "fail", "sweep", "note", "block", "unblock", "close", "reopen", "update",
    "dep_add", "dep_remove", "set_state", "get_state", "record_events", "create_keyed", "run_lock_acquire",
    "run_lock_renew", "run_lock_release", "worker_put", "workers_put", "worker_list",
]
for _name in _ONE_TRANSACTION:
    setattr(PostgresStore, _name, _retried(getattr(PostgresStore, _name)))


def _migrate(conn: psycopg.Connection, *, create: bool, where: str) -> None:
    """Bring schema ``foreman`` to the newest version in one transaction, one migrator at a time.

    Raises:
        DatabaseMissing: no issue schema and ``create`` is false. SchemaTooNew: a newer program wrote it.
    """
    sql = {name: _placeholders(text) for name, text in queries(SQL_FOLDER).items()}
    with conn.transaction():
        conn.execute(sql["advisory_lock"], {"key": MIGRATION_LOCK})
        exists = conn.execute(sql["schema_exists"]).fetchone()[0]
        if not exists and not create:
            raise DatabaseMissing(
                f"the PostgreSQL database at {where} has no issue schema yet; creating an issue starts one there",
                path=where,
            )
        if not exists:
            conn.execute(sql["schema_create"])
        conn.execute(f"SET LOCAL search_path = {SCHEMA}")  # the migrations name tables without their schema
        current = conn.execute(sql["schema_version_get"]).fetchone()[0]
        newest = schema_version(SQL_FOLDER)
        if current > newest:
            raise SchemaTooNew(
                f"the issue database at {where} has schema version {current}, newer than this program's "
                f"{newest}; upgrade amplifier-foreman to use it",
                schema_version=current,
            )
        for version, script in migrations(SQL_FOLDER):
            if version > current:
                conn.execute(script)
                conn.execute(sql["schema_version_set"], {"version": version})


def _redacted(url: str) -> str:
    """``postgresql://user@host:port/db`` without the password, for messages."""
    try:
        info = conninfo_to_dict(url)
    except psycopg.ProgrammingError as exc:
        raise InvalidInput(f"not a PostgreSQL URL ({exc}); expected postgresql://user@host:port/database") from exc
    host = info.get("host", "localhost")
    port = f":{info['port']}" if info.get("port") else ""
    user = f"{info['user']}@" if info.get("user") else ""
    return f"postgresql://{user}{host}{port}/{info.get('dbname', '')}"


@contextmanager
def _connect_errors(where: str) -> Iterator[None]:
    """Connecting: unreachable server, refused login, missing database -> one clear error each."""
    try:
        yield
    except IssueError:
        raise
    except (psycopg.OperationalError, psycopg_pool.PoolTimeout) as exc:
        text = " ".join(str(exc).split())  # libpq's message spans lines; the CLI prints one
        if any(sign in text for sign in ("password authentication failed", "no password supplied", "FATAL:  role",
                                         "FATAL: role")):
            raise DatabaseUnreadable(f"PostgreSQL at {where} refused the login ({text}); check the user "
                                     "and password in the URL (or ~/.pgpass)", path=where) from exc
        if "does not exist" in text and "database" in text:
            raise DatabaseMissing(f"there is no database {where.rsplit('/', 1)[-1]!r} on the server ({text}); "
                                  "create it with `createdb` or pass another --db", path=where) from exc
        raise DatabaseUnreadable(f"cannot reach PostgreSQL at {where} ({text}); is the server running "
                                 "and the address right?", path=where) from exc


@contextmanager
def _translated_errors(where: str) -> Iterator[None]:
    """Turn psycopg faults during a transaction into one clear :class:`IssueError` (or a retry).

    The failed transaction was rolled back, so nothing changed.
    """
    try:
        yield
    except IssueError:
        raise
    except (pg_errors.SerializationFailure, pg_errors.DeadlockDetected) as exc:
        raise _Retry(f"PostgreSQL at {where} kept aborting this transaction ({exc}); try again", path=where) from exc
    except (psycopg.OperationalError, psycopg_pool.PoolTimeout) as exc:
        raise _Retry(f"lost the connection to PostgreSQL at {where} ({str(exc).strip()}); nothing was changed. "
                     "Is the server running?", path=where) from exc
    except pg_errors.NumericValueOutOfRange as exc:
        raise NumberOutOfRange(f"a number is too large for the database ({exc}); nothing was changed") from exc
    except UnicodeEncodeError as exc:
        raise InvalidText(f"text is not valid UTF-8 at character {exc.start + 1}; nothing was changed") from exc
    except pg_errors.DataError as exc:  # e.g. a NUL character, which PostgreSQL text cannot hold
        raise InvalidInput(f"PostgreSQL cannot store this value ({str(exc).strip()}); nothing was changed") from exc
    except psycopg.Error as exc:
        raise DatabaseUnreadable(f"cannot use the issue database at {where}: {str(exc).strip()}; nothing was changed",
                                 path=where) from exc
