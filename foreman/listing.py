"""The workspace's files as the foreman sees them when it looks for an issue's missing input.

In a git repository the files are what ``git ls-files`` lists (tracked and untracked, ignored ones
and ``.foreman/`` with its worktrees left out; ``.git`` never appears); elsewhere a walk that skips
hidden and cache folders, bounded at :data:`WALK_LIMIT` files. The files are ranked by how many
words of the blocking note their paths share (``logs/slow_queries.log`` first for "needs the slow
query log"), then shallow before deep, and at most :data:`LISTING_LIMIT` are shown.
"""

from __future__ import annotations

import itertools
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

from foreman.issues import DEFAULT_DB

LISTING_LIMIT = 40  # paths shown to the foreman
WALK_LIMIT = 5000  # files looked at outside git
SKIPPED_FOLDERS = frozenset({"__pycache__", "node_modules"})  # besides hidden folders, outside git
FLEET_FOLDER = DEFAULT_DB.parts[0]  # .foreman: the database and the worktrees, never listed
STOP_WORDS = frozenset({"the", "and", "for", "from", "with", "that", "this", "which", "what", "need", "needs"})
PREFIX = 4  # letters two words must share to count as the same word ("query" / "queries")
_WORD = re.compile(r"[a-z0-9]+")


def workspace_files(root: Path) -> list[str]:
    """Paths (relative to ``root``, ``/``-separated) of the workspace's files.

    ``git ls-files --cached --others --exclude-standard`` (without ``.foreman/``) when ``root`` is
    in a git work tree, else at most :data:`WALK_LIMIT` files of a walk that skips hidden folders and
    :data:`SKIPPED_FOLDERS`.
    """
    command = ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", ".",
               f":(exclude){FLEET_FOLDER}"]
    done = subprocess.run(command, cwd=root, capture_output=True)
    if done.returncode == 0:
        return sorted({p for p in done.stdout.decode(errors="replace").split("\0") if p})
    return sorted(itertools.islice(_walk(root), WALK_LIMIT))


def _walk(root: Path) -> Iterator[str]:
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(d for d in subfolders if not d.startswith(".") and d not in SKIPPED_FOLDERS)
        for name in sorted(files):
            yield Path(folder, name).relative_to(root).as_posix()


def words(text: str) -> set[str]:
    """Lower-case words of three letters or more, without :data:`STOP_WORDS`."""
    return {w for w in _WORD.findall(text.lower()) if len(w) >= 3 and w not in STOP_WORDS}


def relevance(path: str, note_words: set[str]) -> int:
    """How many of ``note_words`` the path names (the same word, or the same first :data:`PREFIX` letters)."""
    own = words(path)
    prefixes = {w[:PREFIX] for w in own if len(w) >= PREFIX}
    return sum(w in own or (len(w) >= PREFIX and w[:PREFIX] in prefixes) for w in note_words)


def workspace_listing(root: Path, note: str, limit: int = LISTING_LIMIT) -> str:
    """At most ``limit`` workspace paths, one a line, most relevant to ``note`` first ("(empty)" if none)."""
    files = workspace_files(root)
    note_words = words(note)
    ranked = sorted(files, key=lambda p: (-relevance(p, note_words), p.count("/"), p))
    lines = ranked[:limit]
    if len(files) > limit:
        lines.append(f"(and {len(files) - limit} more files)")
    return "\n".join(lines) or "(empty)"
