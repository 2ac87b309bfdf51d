"""Glob patterns for `list_files` and `grep`: compile one, and walk the files it matches.

Syntax (matched against `/`-separated paths): `*` any run of characters within one path segment,
`?` one such character, `[abc]` / `[!abc]` a character class, `**/` any number of directories
(zero included), `**` anything. So `*.py` matches top-level files only and `**/*.py` matches at any
depth. The leading segments without wildcards choose where the walk starts (`src/**/*.py` walks
`src/` only). The walk never follows symlinked directories and skips `IGNORED_DIRS`.
"""

import os
import re
from collections.abc import Iterator
from pathlib import Path

from .errors import ToolError
from .paths import PathPolicy

IGNORED_DIRS = frozenset({".git", ".hg", ".svn", ".venv", "node_modules", "__pycache__"})
_TOKENS = re.compile(r"\*\*/|\*\*|\*|\?|\[!?[^\]]+\]|.", re.DOTALL)
_WILDCARDS = {"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}


def compile_glob(pattern: str) -> re.Pattern[str]:
    """The regex (for `fullmatch`) of a glob pattern in the syntax above.

    Raises:
        re.error: for a character class Python's `re` rejects.
    """
    return re.compile("".join(_token_regex(token) for token in _TOKENS.findall(pattern)))


def _token_regex(token: str) -> str:
    if token in _WILDCARDS:
        return _WILDCARDS[token]
    if len(token) > 2 and token[0] == "[":
        negate = token[1] == "!"
        body = token[2 if negate else 1 : -1].replace("\\", "\\\\")
        return "[" + ("^" if negate else "") + body + "]"
    return re.escape(token)


def split_base(pattern: str) -> tuple[str, str]:
    """Split `pattern` into its leading wildcard-free directories and the rest.

    `"src/**/*.py"` -> `("src", "**/*.py")`; `"*.md"` -> `("", "*.md")`.
    """
    segments = pattern.split("/")
    fixed = 0
    while fixed < len(segments) - 1 and not re.search(r"[*?\[]", segments[fixed]):
        fixed += 1
    base = "/".join(segments[:fixed])
    if not base and pattern.startswith("/"):
        base = "/"
    return base, "/".join(segments[fixed:])


def walk_matches(base: Path, regex: re.Pattern[str]) -> Iterator[Path]:
    """Files under `base` whose `/`-separated path relative to `base` fully matches `regex`,
    in sorted order, symlinked directories not followed, `IGNORED_DIRS` skipped."""
    for directory, subdirs, files in os.walk(base):
        subdirs[:] = sorted(name for name in subdirs if name not in IGNORED_DIRS)
        relative = Path(directory).relative_to(base).as_posix()
        prefix = "" if relative == "." else f"{relative}/"
        for name in sorted(files):
            if regex.fullmatch(prefix + name):
                yield Path(directory, name)


def matching_files(policy: PathPolicy, pattern: str) -> Iterator[Path]:
    """The readable files matching `pattern` (relative to the workspace unless absolute).

    Files that resolve outside the read roots (symlinks out) are left out silently.

    Raises:
        ToolError: `invalid_input` (empty pattern), `invalid_glob`, and `for_read`'s errors for the
            pattern's fixed directories (`path_not_allowed` for `../*`, `/etc/*`, ...).
    """
    if not pattern:
        raise ToolError("invalid_input", "pattern must be a non-empty glob.")
    base_text, rest = split_base(pattern)
    base = policy.for_read(base_text or ".")
    try:
        regex = compile_glob(rest)
    except re.error as error:
        raise ToolError("invalid_glob", f"glob {pattern!r} is invalid: {error}.") from None
    return (path for path in walk_matches(base, regex) if policy.readable(path))
