"""Round trips per claim+close cycle of PostgresStore, counted by strace (issue 11).

    strace -f -e trace=recvfrom,write -o /tmp/trace python bench/pg_round_trips.py
    python bench/pg_round_trips.py --count /tmp/trace

The first command runs ``CYCLES`` claim+close cycles between two markers written to stderr (on a
fresh database made and dropped through ``--pg-admin``); the second counts the ``recvfrom`` calls
between the markers (one per answer the store waits for) and prints them per cycle. The number
does not depend on the machine's load, unlike cycles/s. Set ``PYTHONPATH`` to another checkout to
count its store.
"""

from __future__ import annotations

import argparse
import os
import re
import uuid
from pathlib import Path
from urllib.parse import urlsplit

from foreman.issues import NewIssue, open_store

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
CYCLES = 200  # measured cycles (after a few to warm the pool, the clock and prepared statements)
WARM_UP = 5  # cycles before the first marker
START, END = "PG-ROUND-TRIPS-START", "PG-ROUND-TRIPS-END"


def run_cycles(admin: str) -> None:
    """Claim and close ``CYCLES`` issues on a fresh database, between the two markers."""
    import psycopg

    database = f"foreman_trips_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {database}")
    try:
        store = open_store(urlsplit(admin)._replace(path=f"/{database}").geturl(), create=True)
        for n in range(CYCLES + WARM_UP):
            store.create(NewIssue(title=f"bench {n}"))
        for n in range(CYCLES + WARM_UP):
            if n == WARM_UP:
                os.write(2, f"{START}\n".encode())
            claim = store.claim_next("w1")
            store.close(claim.issue.id, token=claim.token, reason="bench")
        os.write(2, f"{END}\n".encode())
        store.disconnect()
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE {database} WITH (FORCE)")


def count(trace: Path) -> float:
    """``recvfrom`` calls per cycle between the markers of an strace output file."""
    lines = trace.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if START in line)
    end = next(i for i, line in enumerate(lines) if END in line)
    received = [line for line in lines[start:end] if re.search(r"\brecvfrom\(", line) and "EAGAIN" not in line]
    return len(received) / CYCLES


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=Path, metavar="TRACE", help="count the round trips of an strace output file")
    parser.add_argument("--pg-admin", default=PG_ADMIN, help="PostgreSQL URL allowed to create and drop databases")
    args = parser.parse_args()
    if args.count:
        print(f"{count(args.count):.2f} round trips per claim+close cycle")
    else:
        run_cycles(args.pg_admin)


if __name__ == "__main__":
    main()
