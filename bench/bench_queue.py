"""Benchmark the issue database: claim+close throughput and ready-query latency.

    python bench/bench_queue.py                      # full run (about 2 minutes here)
    python bench/bench_queue.py --issues 2000 --ready-issues 20000   # quick run

Throughput: N spawned processes each loop "claim the next ready issue, close it" until the queue is
empty, through the project's store API, then the same workload in raw SQL (BEGIN IMMEDIATE,
compare-and-swap UPDATE, event row, COMMIT) on a fresh database in the same run. Double claims are
counted from the claimed events. Latency: ``store.ready(limit=20)`` over a database seeded with
``--ready-issues`` issues and as many blocking edges (seeded in bulk SQL, since setup speed is not
what is measured).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import random
import sqlite3
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

from foreman.issues import IssueFilter, NewIssue, open_store
from foreman.issues.errors import NothingReady


def _store_worker(db: str, worker: str, barrier, done) -> None:
    store = open_store(db)
    barrier.wait()
    count = 0
    while True:
        try:
            claim = store.claim_next(worker)
        except NothingReady:
            break
        store.close(claim.issue.id, token=claim.token, reason="bench")
        count += 1
    done.put(count)


RAW_CLAIM = """UPDATE issues SET status = 'in_progress', assignee = ?, fence = fence + 1, attempts = attempts + 1,
lease_expires_at = ?, updated_at = ? WHERE id = (SELECT id FROM issues WHERE status = 'open'
ORDER BY priority, created_at, id LIMIT 1) RETURNING id, fence"""
RAW_CLOSE = """UPDATE issues SET status = 'closed', lease_expires_at = NULL, closed_at = ?, updated_at = ?
WHERE id = ? AND status = 'in_progress' AND fence = ?"""
RAW_EVENT = "INSERT INTO events (issue_id, kind, actor, created_at, data) VALUES (?, ?, ?, ?, '{}')"


def _raw_worker(db: str, worker: str, barrier, done) -> None:
    conn = sqlite3.connect(db, isolation_level=None, timeout=30)
    conn.execute("PRAGMA synchronous = NORMAL")
    barrier.wait()
    count = 0
    while True:
        now = time.time()
        conn.execute("BEGIN IMMEDIATE")
        row = conn.execute(RAW_CLAIM, (worker, now + 120, now)).fetchone()
        if row is None:
            conn.execute("COMMIT")
            break
        conn.execute(RAW_EVENT, (row[0], "claimed", worker, now))
        conn.execute("COMMIT")
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(RAW_CLOSE, (now, now, row[0], row[1]))
        conn.execute(RAW_EVENT, (row[0], "closed", worker, now))
        conn.execute("COMMIT")
        count += 1
    done.put(count)


def _seed_queue(db: str, issues: int) -> None:
    store = open_store(db, create=True)
    for n in range(issues):
        store.create(NewIssue(title=f"bench {n}", priority=n % 5))
    store.disconnect()


def _run(target, db: str, processes: int) -> tuple[float, int]:
    ctx = mp.get_context("spawn")
    barrier, done = ctx.Barrier(processes + 1), ctx.Queue()
    procs = [ctx.Process(target=target, args=(db, f"w{n}", barrier, done)) for n in range(processes)]
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
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT issue_id FROM events WHERE kind = 'claimed'").fetchall()
    return sum(n - 1 for n in Counter(r[0] for r in rows).values() if n > 1)


def throughput(issues: int, process_counts: list[int], workdir: Path) -> None:
    """Print claim+close cycles/s for the store API and raw SQL at each process count."""
    print(f"\nclaim+close cycles/s, {issues} issues per run (WAL, synchronous=NORMAL)")
    print(f"{'processes':>9} {'store API':>10} {'raw SQL':>9} {'ratio':>6} {'double claims':>14}")
    for processes in process_counts:
        rates, doubles = {}, 0
        for name, target in (("store", _store_worker), ("raw", _raw_worker)):
            db = str(workdir / f"{name}-{processes}.db")
            _seed_queue(db, issues)
            elapsed, total = _run(target, db, processes)
            assert total == issues, f"{name}: {total} cycles for {issues} issues"
            rates[name] = total / elapsed
            doubles += _double_claims(db)
        print(f"{processes:>9} {rates['store']:>10.0f} {rates['raw']:>9.0f} {rates['store'] / rates['raw']:>6.2f} {doubles:>14}")


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
    with sqlite3.connect(db) as conn:
        conn.executemany(
            "INSERT INTO issues (id, title, type, priority, metadata, status, lease_expires_at, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        conn.executemany("INSERT INTO dependencies VALUES (?, ?, 'blocks', 0)", sorted(pairs))
        conn.execute("ANALYZE")


def ready_latency(issues: int, workdir: Path, samples: int = 2000) -> None:
    """Print p50/p99 of ``store.ready(limit=20)``, unfiltered and filtered on worker_type."""
    db = str(workdir / "ready.db")
    _seed_graph(db, issues, issues)
    store = open_store(db)
    print(f"\nready query latency, {issues} issues, {issues} blocking edges, limit 20, {samples} samples")
    for label, where in (("no filter", None), ("worker_type=coding", IssueFilter(metadata={"worker_type": "coding"}))):
        times = []
        for _ in range(samples):
            start = time.perf_counter()
            found = store.ready(where, limit=20)
            times.append((time.perf_counter() - start) * 1000)
        times.sort()
        p50, p99 = statistics.median(times), times[int(len(times) * 0.99)]
        print(f"{label:>20}: p50 {p50:.3f} ms, p99 {p99:.3f} ms ({len(found)} rows)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--issues", type=int, default=5000, help="issues per throughput run")
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 4, 8, 16])
    parser.add_argument("--ready-issues", type=int, default=100_000, help="issues (and edges) for the latency run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        throughput(args.issues, args.processes, Path(tmp))
        ready_latency(args.ready_issues, Path(tmp))


if __name__ == "__main__":
    main()
