"""Benchmark the issue database: claim+close throughput and ready-query latency.

    python bench/bench_queue.py                      # full run, SQLite and PostgreSQL (about 5 minutes here)
    python bench/bench_queue.py --issues 2000 --ready-issues 20000   # quick run
    python bench/bench_queue.py --backend postgres   # PostgreSQL only (issue 11); --pg-admin picks the server
    python bench/bench_queue.py --backend sqlite --ready-issues 0 --processes 1 8 --raw-outside-us 100
                                                     # does Python outside the write lock overlap? (issue 13)

Throughput: N spawned processes each loop "claim the next ready issue, close it" until the queue is
empty, through the project's store API, then the same workload in raw SQL (BEGIN IMMEDIATE,
compare-and-swap UPDATE, event row, COMMIT) on a fresh database in the same run. Double claims are
counted from the claimed events. Latency: ``store.ready(limit=20)`` over a database seeded with
``--ready-issues`` issues and as many blocking edges (seeded in bulk SQL, since setup speed is not
what is measured).

On PostgreSQL each run gets a fresh database (created and dropped through ``--pg-admin``); its raw
SQL is one ``UPDATE ... WHERE id = (SELECT ... FOR UPDATE SKIP LOCKED) RETURNING`` plus an event row
per transaction, on the same server.
"""

from __future__ import annotations

import argparse
import functools
import multiprocessing as mp
import random
import shutil
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from foreman.issues import IssueFilter, NewIssue, open_store
from foreman.issues.errors import NothingReady
from foreman.issues.sqlite_store import SQLiteStore
from foreman.issues.write_lock import BusyHandler, ShortPoll, WriterQueue

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


BUSY_TIMEOUT = 30.0  # seconds: every strategy (and raw SQL) gives up on the write lock after this
#: --lock name -> the write-lock strategy the store of database ``db`` gets
LOCKS = {
    "busy": lambda db: BusyHandler(),  # shipped: SQLite's busy handler alone (busy_timeout 30 s): sleeps 1, 2, 5 ... 100 ms
    "poll": lambda db: ShortPoll(timeout=BUSY_TIMEOUT),  # 50 ms handler, then 0.1-2 ms polls
    "small": lambda db: ShortPoll(busy_ms=2, pause=(0.0, 0.0), timeout=BUSY_TIMEOUT),  # 2 ms busy_timeout, retried at once
    "queue": WriterQueue,  # flock queue on <db>-writers, then BEGIN IMMEDIATE (busy_timeout 30 s)
}


def _open(db: str, lock: str):
    if db.startswith("postgresql://"):
        return open_store(db)
    return SQLiteStore(db, busy_timeout=BUSY_TIMEOUT, write_lock=LOCKS[lock](db))


def _store_worker(db: str, worker: str, barrier, done, lock: str) -> None:
    store = _open(db, lock)
    barrier.wait()
    done.put(store_loop(store, worker))


def store_loop(store, worker: str) -> int:
    """Claim the next ready issue and close it until none is left; returns the number of cycles."""
    count = 0
    while True:
        try:
            claim = store.claim_next(worker)
        except NothingReady:
            return count
        store.close(claim.issue.id, token=claim.token, reason="bench")
        count += 1


RAW_CLAIM = """UPDATE issues SET status = 'in_progress', assignee = ?, fence = fence + 1, attempts = attempts + 1,
lease_expires_at = ?, updated_at = ? WHERE id = (SELECT id FROM issues WHERE status = 'open'
ORDER BY priority, created_at, id LIMIT 1) RETURNING id, fence"""
RAW_CLOSE = """UPDATE issues SET status = 'closed', lease_expires_at = NULL, closed_at = ?, updated_at = ?
WHERE id = ? AND status = 'in_progress' AND fence = ?"""
RAW_EVENT = "INSERT INTO events (issue_id, kind, actor, created_at, data) VALUES (?, ?, ?, ?, '{}')"


def _python_work(microseconds: float) -> None:
    """Busy the CPU for ``microseconds`` (stands for a client's own work between transactions)."""
    end = time.perf_counter() + microseconds / 1e6
    while time.perf_counter() < end:
        pass


def raw_connection(db: str) -> sqlite3.Connection:
    """The raw SQL baseline's connection to ``db``: autocommit, SQLite's own busy handler for
    :data:`BUSY_TIMEOUT` seconds (whatever ``--lock`` says), ``synchronous = NORMAL``."""
    conn = sqlite3.connect(db, isolation_level=None, timeout=BUSY_TIMEOUT)
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


def _raw_worker(db: str, worker: str, barrier, done, lock: str, outside_us: float = 0.0) -> None:
    """Raw SQL claim+close cycles; ``outside_us`` microseconds of Python after each COMMIT (``--raw-outside-us``)."""
    conn = raw_connection(db)
    barrier.wait()
    done.put(raw_loop(conn, worker, outside_us))


def raw_loop(conn, worker: str, outside_us: float = 0.0) -> int:
    """Raw SQL claim+close cycles on ``conn`` (a ``sqlite3.Connection`` in autocommit mode, or anything
    with its ``execute``) until no open issue is left; returns the number of cycles."""
    count = 0
    while True:
        now = time.time()
        conn.execute("BEGIN IMMEDIATE")
        row = conn.execute(RAW_CLAIM, (worker, now + 120, now)).fetchone()
        if row is None:
            conn.execute("COMMIT")
            return count
        conn.execute(RAW_EVENT, (row[0], "claimed", worker, now))
        conn.execute("COMMIT")
        _python_work(outside_us)
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(RAW_CLOSE, (now, now, row[0], row[1]))
        conn.execute(RAW_EVENT, (row[0], "closed", worker, now))
        conn.execute("COMMIT")
        _python_work(outside_us)
        count += 1


PG_RAW_CLAIM = """UPDATE issues SET status = 'in_progress', assignee = %(worker)s, fence = fence + 1,
attempts = attempts + 1, lease_expires_at = extract(epoch FROM now()) + 120, updated_at = extract(epoch FROM now())
WHERE id = (SELECT id FROM issues WHERE status = 'open' ORDER BY priority, created_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
RETURNING id, fence"""
PG_RAW_CLOSE = """UPDATE issues SET status = 'closed', lease_expires_at = NULL, closed_at = extract(epoch FROM now()),
updated_at = extract(epoch FROM now()) WHERE id = %(id)s AND status = 'in_progress' AND fence = %(fence)s"""
PG_RAW_EVENT = """INSERT INTO events (issue_id, kind, actor, created_at, data)
VALUES (%(id)s, %(kind)s, %(worker)s, extract(epoch FROM now()), '{}')"""


def _raw_pg_worker(db: str, worker: str, barrier, done, lock: str) -> None:
    import psycopg

    conn = psycopg.connect(db)  # the URL's ?options=... (e.g. synchronous_commit) apply, as for the store
    conn.execute("SET search_path = foreman")
    conn.commit()
    barrier.wait()
    count = 0
    while True:
        row = conn.execute(PG_RAW_CLAIM, {"worker": worker}).fetchone()
        if row is None:
            conn.commit()
            break
        conn.execute(PG_RAW_EVENT, {"id": row[0], "kind": "claimed", "worker": worker})
        conn.commit()
        conn.execute(PG_RAW_CLOSE, {"id": row[0], "fence": row[1]})
        conn.execute(PG_RAW_EVENT, {"id": row[0], "kind": "closed", "worker": worker})
        conn.commit()
        count += 1
    done.put(count)


@contextmanager
def _database(backend: str, workdir: Path, name: str, admin: str) -> Iterator[str]:
    """A fresh database: an SQLite file in ``workdir``, or a PostgreSQL database dropped afterwards."""
    if backend == "sqlite":
        yield str(workdir / f"{name}.db")
        return
    import psycopg

    database = f"foreman_bench_{name.replace('-', '_')}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {database}")
    try:
        yield urlsplit(admin)._replace(path=f"/{database}").geturl()
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE {database} WITH (FORCE)")


def _seed_queue(db: str, issues: int) -> None:
    store = open_store(db, create=True)
    for n in range(issues):
        store.create(NewIssue(title=f"bench {n}", priority=n % 5))
    store.disconnect()


@contextmanager
def _queue(backend: str, workdir: Path, name: str, admin: str, issues: int) -> Iterator[str]:
    """A fresh database holding ``issues`` open issues; on SQLite a copy of one seeded file per size."""
    template = workdir / f"seeded-{issues}.db"
    if backend == "sqlite" and not template.exists():
        _seed_queue(str(template), issues)  # disconnecting checkpoints the WAL: the .db file is all there is
    with _database(backend, workdir, name, admin) as db:
        if backend == "sqlite":
            shutil.copyfile(template, db)
        else:
            _seed_queue(db, issues)
        yield db


def _run(target, db: str, processes: int, lock: str) -> tuple[float, int]:
    ctx = mp.get_context("spawn")
    barrier, done = ctx.Barrier(processes + 1), ctx.Queue()
    procs = [ctx.Process(target=target, args=(db, f"w{n}", barrier, done, lock)) for n in range(processes)]
    for p in procs:
        p.start()
    barrier.wait()
    start = time.perf_counter()
    total = sum(done.get() for _ in procs)
    elapsed = time.perf_counter() - start
    for p in procs:
        p.join()
    return elapsed, total


def _double_claims(db: str) -> int:
    store = open_store(db)
    claimed = Counter(e.issue_id for e in store.events(kinds=["claimed"]))
    store.disconnect()
    return sum(n - 1 for n in claimed.values() if n > 1)


def _spread(values: list[float], digits: int) -> str:
    """``median (min-max)`` of ``values``, rounded to ``digits`` decimals."""
    return f"{statistics.median(values):.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"


def throughput(backend: str, issues: int, process_counts: list[int], locks: list[str], repeat: int, workdir: Path,
               admin: str, raw_outside: list[float]) -> None:
    """Print claim+close cycles/s of raw SQL and of the store API per lock strategy, at each process count.

    Each round runs raw SQL, then the store with every strategy in ``locks``, each on a fresh copy of
    the seeded queue; ``repeat`` rounds give the median and the (min-max) spread. The ratio is the
    median over rounds of store/raw within the same round. Double claims are summed over all runs.
    ``raw_outside`` adds, on SQLite, raw SQL with that many microseconds of Python after each COMMIT
    (``raw+100us``): whether one process's work outside the lock overlaps other processes' transactions.
    """
    setting = "WAL, synchronous=NORMAL" if backend == "sqlite" else "PostgreSQL, READ COMMITTED, SKIP LOCKED"
    raw_worker = _raw_worker if backend == "sqlite" else _raw_pg_worker
    configs = [("raw", raw_worker, "busy")] + [(lock, _store_worker, lock) for lock in locks]
    if backend == "sqlite":
        configs += [(f"raw+{us:g}us", functools.partial(_raw_worker, outside_us=us), "busy") for us in raw_outside]
    print(f"\n{backend}: claim+close cycles/s, {issues} issues per run ({setting}), median (min-max) of {repeat}")
    if backend == "sqlite":
        print("raw SQL waits in SQLite's busy handler (busy_timeout 30 s); store API strategies: " + ", ".join(locks))
    print(f"{'processes':>9} {'config':>10} {'cycles/s':>20} {'ratio to raw':>18} {'double claims':>14}")
    for processes in process_counts:
        rates = {name: [] for name, _, _ in configs}
        doubles = Counter()
        for _ in range(repeat):
            for name, target, lock in configs:
                with _queue(backend, workdir, f"{name}-{processes}", admin, issues) as db:
                    elapsed, total = _run(target, db, processes, lock)
                    assert total == issues, f"{name}: {total} cycles for {issues} issues"
                    rates[name].append(total / elapsed)
                    doubles[name] += _double_claims(db)
        for name, _, _ in configs:
            ratios = [store / raw for store, raw in zip(rates[name], rates["raw"])]
            print(f"{processes:>9} {name:>10} {_spread(rates[name], 0):>20} {_spread(ratios, 2):>18} {doubles[name]:>14}")


def _seed_graph(db: str, issues: int, edges: int) -> None:
    """Bulk-insert issues (60% open, 30% closed, 10% in progress) and random older->newer blocking edges."""
    open_store(db, create=True).disconnect()
    rng = random.Random(7)
    now = time.time()
    statuses = ["open"] * 6 + ["closed"] * 3 + ["in_progress"]
    rows = []
    for n in range(issues):
        status = rng.choice(statuses)
        lease = now + 3600 if status == "in_progress" else None
        meta = '{"worker_type": "%s"}' % ("coding" if n % 2 else "research")
        rows.append((f"fm-{n:06d}", f"issue {n}", "task", rng.randint(0, 4), meta, status, lease, now + n, now + n))
    pairs = set()
    while len(pairs) < edges:
        a, b = sorted(rng.sample(range(issues), 2))
        pairs.add((f"fm-{b:06d}", f"fm-{a:06d}"))
    if db.startswith("postgresql://"):
        _bulk_insert_pg(db, rows, sorted(pairs))
        return
    with sqlite3.connect(db) as conn:
        conn.executemany(
            "INSERT INTO issues (id, title, type, priority, metadata, status, lease_expires_at, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        conn.executemany("INSERT INTO dependencies VALUES (?, ?, 'blocks', 0)", sorted(pairs))
        conn.execute("ANALYZE")


def _bulk_insert_pg(db: str, rows: list[tuple], pairs: list[tuple[str, str]]) -> None:
    import psycopg

    columns = "id, title, type, priority, metadata, status, lease_expires_at, created_at, updated_at"
    with psycopg.connect(db) as conn:
        conn.execute("SET search_path = foreman")
        with conn.cursor().copy(f"COPY issues ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        with conn.cursor().copy("COPY dependencies (issue_id, depends_on_id, type, created_at) FROM STDIN") as copy:
            for pair in pairs:
                copy.write_row((*pair, "blocks", 0))
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")


def ready_latency(backend: str, issues: int, workdir: Path, admin: str, samples: int = 2000) -> None:
    """Print p50/p99 of ``store.ready(limit=20)``, unfiltered and filtered on worker_type."""
    with _database(backend, workdir, "ready", admin) as db:
        _seed_graph(db, issues, issues)
        store = open_store(db)
        print(f"\n{backend}: ready query latency, {issues} issues, {issues} blocking edges, limit 20, {samples} samples")
        for label, where in (("no filter", None), ("worker_type=coding", IssueFilter(metadata={"worker_type": "coding"}))):
            times = []
            for _ in range(samples):
                start = time.perf_counter()
                found = store.ready(where, limit=20)
                times.append((time.perf_counter() - start) * 1000)
            times.sort()
            p50, p99 = statistics.median(times), times[int(len(times) * 0.99)]
            print(f"{label:>20}: p50 {p50:.3f} ms, p99 {p99:.3f} ms ({len(found)} rows)")
        store.disconnect()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--issues", type=int, default=5000, help="issues per throughput run")
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 4, 8, 16])
    parser.add_argument("--ready-issues", type=int, default=100_000, help="issues (and edges) for the latency run")
    parser.add_argument("--backend", nargs="+", choices=["sqlite", "postgres"], default=["sqlite", "postgres"])
    parser.add_argument("--pg-admin", default=PG_ADMIN, help="PostgreSQL URL allowed to create and drop databases")
    parser.add_argument("--lock", nargs="+", choices=sorted(LOCKS), default=["busy"],
                        help="SQLite store write-lock strategies to measure (busy is the one the store ships)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds per process count (median and spread)")
    parser.add_argument("--raw-outside-us", type=float, nargs="+", default=[], metavar="US",
                        help="SQLite: also run raw SQL with US microseconds of Python after each COMMIT")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backend:
            locks = args.lock if backend == "sqlite" else ["store"]
            throughput(backend, args.issues, args.processes, locks, args.repeat, Path(tmp), args.pg_admin,
                       args.raw_outside_us)
            if args.ready_issues:
                ready_latency(backend, args.ready_issues, Path(tmp), args.pg_admin)


if __name__ == "__main__":
    main()
