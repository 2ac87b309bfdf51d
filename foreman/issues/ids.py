"""Short, human-typable issue ids such as ``fm-3k9a``, random so that machines never coordinate.

Ids are ``<prefix>-<n base-36 chars>``; four characters give 1.7 million ids per prefix. The store
retries on a collision and adds a character after repeated collisions (as beads does with hash ids).
"""

from __future__ import annotations

import secrets
import string

ALPHABET = string.digits + string.ascii_lowercase
DEFAULT_PREFIX = "fm"
DEFAULT_LENGTH = 4


def new_issue_id(prefix: str = DEFAULT_PREFIX, length: int = DEFAULT_LENGTH) -> str:
    """Return a random id like ``fm-3k9a`` with ``length`` base-36 characters after the prefix."""
    return f"{prefix}-" + "".join(secrets.choice(ALPHABET) for _ in range(length))
