"""Where one claim+close cycle spends its time: the store API against raw SQL, statement by statement.

    python bench/bench_cycle.py                  # 2000 issues, median of 3 (about 5 seconds here)
    python bench/bench_cycle.py --issues 500 --repeat 5

One process, no contention (issue 13). A queue of ``--issues`` open issues is seeded once; each
round runs ``bench/bench_queue.py``'s store loop (``claim_next`` + ``close``) and its raw SQL loop,
each on a fresh copy of it, timing every statement on the writing connection (microseconds per
cycle, by kind; the timing wrapper's own cost falls on both sides alike). What the
statements do not account for is Python: the store's own work per cycle (building parameters,
events, the returned ``Issue`` and ``Claim``), or the raw loop's few lines. Under contention the
writers of ``bench_queue.py`` take turns (docs/benchmarks.md), so this one-process split is what
its multi-process ratio inherits.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench_queue import _seed_queue, raw_connection, raw_loop, store_loop

from foreman.issues.sqlite_store import SQLiteStore

KINDS = ("BEGIN", "claim", "event", "close", "COMMIT", "other")


def _kind(sql: str) -> str:
    """Which step of a cycle a statement is (the same names for the store's SQL and the raw SQL)."""
    if sql.startswith(("BEGIN", "COMMIT")):
        return sql.split()[0]
    if sql.startswith("INSERT INTO events"):
        return "event"
    if sql.startswith("UPDATE issues"):
        return "claim" if "fence = fence + 1" in sql else "close"
    return "other"  # e.g. the store's sweep of expired leases (once per SWEEP_INTERVAL)


class TimedConnection:
    """A ``sqlite3.Connection`` stand-in that adds each ``execute``'s seconds to ``spent[kind]``."""

    def __init__(self, conn: sqlite3.Connection, spent: Counter) -> None:
        self._conn, self._spent = conn, spent

    def execute(self, sql: str, params=()):
        start = time.perf_counter()
        cursor = self._conn.execute(sql, params)
        self._spent[_kind(sql)] += time.perf_counter() - start
        return cursor

    def __getattr__(self, name: str):
        return getattr(self._conn, name)


def store_cycles(db: str, spent: Counter) -> int:
    """``bench_queue.py``'s store loop on ``db``, its writer's statements timed; returns the cycles."""
    store = SQLiteStore(db)
    store._conn = TimedConnection(store._conn, spent)  # the writer's connection: every statement of a cycle
    cycles = store_loop(store, "bench")
    store.disconnect()
    return cycles


def raw_cycles(db: str, spent: Counter) -> int:
    """``bench_queue.py``'s raw SQL loop on ``db``, every statement timed; returns the cycles."""
    conn = raw_connection(db)
    cycles = raw_loop(TimedConnection(conn, spent), "bench")
    conn.close()
    return cycles


def one_round(workdir: Path, issues: int) -> dict[str, dict[str, float]]:
    """Microseconds per cycle by kind (plus ``Python`` and ``total``) for ``store`` and ``raw``."""
    template = workdir / "seeded.db"
    if not template.exists():
        _seed_queue(str(template), issues)
    result = {}
    for name, run in (("store", store_cycles), ("raw", raw_cycles)):
        db = workdir / f"{name}.db"
        shutil.copyfile(template, db)
        spent: Counter = Counter()
        start = time.perf_counter()
        cycles = run(str(db), spent)
        total = time.perf_counter() - start
        per = {kind: spent[kind] / cycles * 1e6 for kind in KINDS}
        result[name] = per | {"Python": (total - sum(spent.values())) / cycles * 1e6, "total": total / cycles * 1e6}
        db.unlink()
    return result


def _positive(text: str) -> int:
    """argparse type: a whole number of at least 1."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return int(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=_positive, default=2000, help="issues claimed and closed per loop")
    parser.add_argument("--repeat", type=_positive, default=3, help="rounds (each on a fresh copy); medians printed")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rounds = [one_round(Path(tmp), args.issues) for _ in range(args.repeat)]
    print(f"one claim+close cycle, microseconds, median of {args.repeat} rounds of {args.issues} issues (SQLite, WAL)")
    print(f"{'step':>8} {'store':>8} {'raw':>8}  store/raw")
    for kind in (*KINDS, "Python", "total"):
        store, raw = (statistics.median(r[name][kind] for r in rounds) for name in ("store", "raw"))
        ratio = f"{store / raw:9.2f}" if raw else f"{'-':>9}"
        print(f"{kind:>8} {store:8.1f} {raw:8.1f}  {ratio}")


if __name__ == "__main__":
    main()
