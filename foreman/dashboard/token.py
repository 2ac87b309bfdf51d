"""The dashboard's control token: a random secret kept in a file of its database's.

Every control needs it (issue 10). It is created once (owner-only file mode) and reused, so a
restarted dashboard or one opened from another shell takes the same token, and an open page keeps
working. A SQLite database keeps it in ``dashboard-token`` beside the database file
(``.foreman/`` by default); a PostgreSQL server has no folder of ours, so its token is kept in the
user's config folder, one file per server and database:
``$XDG_CONFIG_HOME/foreman/dashboard-tokens/<host>-<port>-<database>`` (``~/.config`` when unset).
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path
from urllib.parse import urlsplit

from foreman.issues import POSTGRES_SCHEMES

TOKEN_FILE = "dashboard-token"  #: file name, in the database's folder (``.foreman/`` by default)
TOKEN_BYTES = 24  # random bytes of a new token (32 URL-safe characters)
SERVER_TOKENS = Path("foreman") / "dashboard-tokens"  #: folder of server tokens, in the user's config folder
PG_PORT = 5432  # PostgreSQL's default port, when a URL names none


def token_path(db: str) -> Path:
    """Where the token of the database ``db`` is kept.

    Args:
        db: a file path, ``sqlite:///path``, or a ``postgresql://user@host:port/database`` URL.
    """
    if db.startswith(POSTGRES_SCHEMES):
        return _config_home() / SERVER_TOKENS / _server_key(db)
    return Path(db.removeprefix("sqlite:///")).resolve().parent / TOKEN_FILE


def _config_home() -> Path:
    """The user's config folder: ``$XDG_CONFIG_HOME``, else ``~/.config``."""
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")


def _server_key(url: str) -> str:
    """``<host>-<port>-<database>`` of a server URL, with anything but letters, digits, ``.`` and ``_`` as ``_``."""
    parts = urlsplit(url)
    key = f"{parts.hostname or 'localhost'}-{parts.port or PG_PORT}-{parts.path.lstrip('/') or parts.username or ''}"
    return re.sub(r"[^A-Za-z0-9._-]", "_", key)


def control_token(db: str) -> str:
    """The control token of the database ``db`` (as :func:`token_path` takes it): read from its file,
    created there (mode 0600, its folder made) when missing.

    Raises:
        OSError: the folder cannot be written.
    """
    path = token_path(db)
    if path.is_file() and path.read_text().strip():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(token + "\n")
    return token
