"""Instructions per claim+close cycle, store API against raw SQL, counted by valgrind (no timing noise).

    python bench/bench_instructions.py               # 300 issues each (about 1 minute here)
    python bench/bench_instructions.py --issues 1000

Time per cycle moves by 20% from one run to the next on a shared 2-core machine (issue 13), so a
change worth a few percent cannot be seen in ``bench_cycle.py``. The number of instructions the CPU
runs can: each loop runs under ``valgrind --tool=callgrind`` in a process of its own, and the same
process seeding the queue without the loop is subtracted. One process, no contention; on a
fresh copy of the queue, ``bench_queue.py``'s store loop (``claim_next`` + ``close``) and its raw SQL
loop. Instructions are not time (the store's are more often Python than SQLite's), so read the
ratio beside ``bench_cycle.py``'s, not instead of it. Needs valgrind (``apt-get install valgrind``);
exits 2 without it.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_cycle import _positive
from bench_queue import _seed_queue, raw_connection, raw_loop, store_loop

from foreman.issues.sqlite_store import SQLiteStore

LOOPS = ("none", "store", "raw")  # "none" seeds and stops: what the other two subtract


def run_loop(loop: str, issues: int, workdir: str) -> None:
    """Seed ``issues`` open issues in ``workdir`` and run one loop over them (in the counted process)."""
    db = str(Path(workdir) / "queue.db")
    _seed_queue(db, issues)
    if loop == "store":
        store = SQLiteStore(db)
        store_loop(store, "bench")
        store.disconnect()
    elif loop == "raw":
        conn = raw_connection(db)
        raw_loop(conn, "bench")
        conn.close()


def counted(loop: str, issues: int) -> int:
    """Instructions valgrind counts for ``run_loop(loop, issues)`` in a fresh process."""
    with tempfile.TemporaryDirectory() as workdir:
        command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
                   sys.executable, __file__, "--run", loop, "--issues", str(issues), "--workdir", workdir]
        result = subprocess.run(command, capture_output=True, text=True, check=True)
    return int(re.search(r"Collected : (\d+)", result.stderr).group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=_positive, default=300, help="issues claimed and closed per loop")
    parser.add_argument("--run", choices=LOOPS, help=argparse.SUPPRESS)  # the counted child process
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        run_loop(args.run, args.issues, args.workdir)
        return
    if shutil.which("valgrind") is None:
        print("valgrind is not installed: apt-get install valgrind", file=sys.stderr)
        sys.exit(2)
    base, store, raw = (counted(loop, args.issues) for loop in LOOPS)
    per_store, per_raw = (store - base) / args.issues, (raw - base) / args.issues
    print(f"instructions per claim+close cycle, {args.issues} issues (SQLite, WAL, one process)")
    print(f"store {per_store:10,.0f}\nraw   {per_raw:10,.0f}\nstore/raw {per_store / per_raw:.2f}")


if __name__ == "__main__":
    main()
