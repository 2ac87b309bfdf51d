"""The dashboard's control token: a random secret kept in ``dashboard-token`` beside the database.

Every control needs it (issue 10). It is created once (owner-only file mode) and reused, so a
restarted dashboard or one opened from another shell takes the same token, and an open page keeps
working.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

TOKEN_FILE = "dashboard-token"  #: file name, in the database's folder (``.foreman/`` by default)
TOKEN_BYTES = 24  # random bytes of a new token (32 URL-safe characters)


def token_path(db: str) -> Path:
    """Where the token of the database at ``db`` (a path or ``sqlite:///path``) is kept."""
    return Path(db.removeprefix("sqlite:///")).resolve().parent / TOKEN_FILE


def control_token(db: str) -> str:
    """The control token of the database at ``db``: read from its file, created there when missing.

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
