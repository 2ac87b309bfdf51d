"""Loads ``sql/queries.sql`` into named statements and applies ``sql/migrations/NNN_*.sql`` in order.

The PostgreSQL store keeps its own statements and migrations in ``sql/postgres/`` (issue 11), read
by the same functions with ``folder="sql/postgres"``.
"""

from __future__ import annotations

import re
import sqlite3
from functools import cache
from importlib import resources

from foreman.issues.errors import SchemaTooNew

_HEADER = re.compile(r"^-- ([a-z_]+): .*$", re.MULTILINE)


SQLITE = "sql"  #: folder of the SQLite statements and migrations, inside the foreman.issues package


@cache
def queries(folder: str = SQLITE) -> dict[str, str]:
    """Map of query name -> SQL text, parsed from the ``-- name: purpose`` headers of ``<folder>/queries.sql``."""
    text = resources.files("foreman.issues").joinpath(f"{folder}/queries.sql").read_text()
    parts = _HEADER.split(text)[1:]
    return {name: body.strip().rstrip(";") for name, body in zip(parts[::2], parts[1::2])}


@cache
def migrations(folder: str = SQLITE) -> tuple[tuple[int, str], ...]:
    """``(version, sql)`` pairs from ``<folder>/migrations``, sorted by version (the file name's number)."""
    found_in = resources.files("foreman.issues").joinpath(f"{folder}/migrations")
    found = [(int(f.name.split("_", 1)[0]), f.read_text()) for f in found_in.iterdir() if f.name.endswith(".sql")]
    return tuple(sorted(found))


def schema_version(folder: str = SQLITE) -> int:
    """The newest schema version this program knows (of the backend whose SQL is in ``folder``)."""
    return migrations(folder)[-1][0]


def _statements(script: str) -> list[str]:
    """Split a SQL script into complete statements (triggers included) using sqlite3.complete_statement."""
    statements, buffer = [], ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    return statements


def migrate(conn: sqlite3.Connection) -> None:
    """Bring the schema to :func:`schema_version` in one write transaction.

    Foreign keys are off while migrations run (SQLite's procedure for rebuilding a table) and
    ``foreign_key_check`` must come back empty before the transaction commits.

    Raises:
        SchemaTooNew: the file was written by a newer version of this program.
    """
    conn.execute("PRAGMA foreign_keys = OFF")  # a table rebuild (003) drops a referenced table; checked below
    conn.execute("BEGIN IMMEDIATE")
    try:
        current = conn.execute("PRAGMA user_version").fetchone()[0]
        if current > schema_version():
            raise SchemaTooNew(
                f"the issue database has schema version {current}, newer than this program's "
                f"{schema_version()}; upgrade amplifier-foreman to use it",
                schema_version=current,
            )
        for version, sql in migrations():
            if version > current:
                for statement in _statements(sql):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {version}")
        broken = conn.execute("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise sqlite3.IntegrityError(f"migration left {len(broken)} rows with dangling references")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    finally:
        conn.execute("PRAGMA foreign_keys = ON")
