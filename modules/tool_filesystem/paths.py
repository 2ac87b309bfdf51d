"""Path confinement: which real paths the filesystem tools may read and write.

Every path is joined to the workspace when relative, then resolved with `os.path.realpath`
(symlinks followed, `..` applied after them), and only then checked against the allowed roots.
So `../x`, an absolute path elsewhere and a symlink that points out of the workspace all resolve
to a real path outside the roots and are refused. This guards the tools against mistakes; it is
not a sandbox (a file swapped for a symlink between the check and the open is not caught).
"""

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ToolError

DEFAULT_DENIED_WRITE_PATHS = (".git",)


def real_path(raw: str | os.PathLike, base: Path) -> Path:
    """`raw` (relative to `base` unless absolute, `~` expanded) with every symlink resolved."""
    return Path(os.path.realpath(base / os.path.expanduser(raw)))


def _real_entry(entry: str | os.PathLike, root: Path) -> Path:
    """`real_path(entry, root)` for a `root` that is already real: `"."` is `root` itself, unresolved again."""
    return root if str(entry) == "." else real_path(entry, root)


def _root_of(path: Path, roots: Iterable[Path]) -> Path | None:
    """The first of `roots` that is `path` or one of its ancestors, else None."""
    return next((root for root in roots if path.is_relative_to(root)), None)


@dataclass(frozen=True)
class PathPolicy:
    """The real roots reads and writes may touch; build it with `PathPolicy.from_config`.

    Attributes:
        workspace: the real workspace directory; relative paths start here.
        read_roots: a read must resolve inside one of these.
        write_roots: a write must resolve inside one of these...
        denied_writes: ...and inside none of these (checked first).
    """

    workspace: Path
    read_roots: tuple[Path, ...]
    write_roots: tuple[Path, ...]
    denied_writes: tuple[Path, ...]

    @classmethod
    def from_config(cls, workspace: str | os.PathLike, config: dict[str, Any]) -> "PathPolicy":
        """Read `allowed_read_paths`, `allowed_write_paths` (both default: the workspace) and
        `denied_write_paths` (default `[".git"]`) from a mount config; entries are relative to
        the workspace unless absolute."""
        root = real_path(workspace, Path.cwd())

        def roots(key: str, default: Iterable[str]) -> tuple[Path, ...]:
            entries = config.get(key)
            return tuple(_real_entry(entry, root) for entry in (default if entries is None else entries))

        return cls(
            workspace=root,
            read_roots=roots("allowed_read_paths", ["."]),
            write_roots=roots("allowed_write_paths", ["."]),
            denied_writes=roots("denied_write_paths", DEFAULT_DENIED_WRITE_PATHS),
        )

    def for_read(self, raw: Any) -> Path:
        """The real path for reading `raw`.

        Raises:
            ToolError: `invalid_path` (not a non-empty string, or a NUL byte);
                `path_not_allowed` (resolves outside every read root).
        """
        path = self._resolve(raw)
        if _root_of(path, self.read_roots) is None:
            raise self._refusal(raw, path, "read", self.read_roots)
        return path

    def for_write(self, raw: Any) -> Path:
        """The real path for writing `raw`.

        Raises:
            ToolError: `invalid_path`; `write_denied` (inside a denied write path);
                `path_not_allowed` (resolves outside every write root).
        """
        path = self._resolve(raw)
        denied = _root_of(path, self.denied_writes)
        if denied is not None:
            raise ToolError("write_denied", f"{raw!r} is inside {self.show(denied)}, which is denied for writing.")
        if _root_of(path, self.write_roots) is None:
            raise self._refusal(raw, path, "write", self.write_roots)
        return path

    def readable(self, path: Path) -> bool:
        """Whether `path` (already absolute) resolves inside a read root."""
        return _root_of(real_path(path, self.workspace), self.read_roots) is not None

    def show(self, path: Path) -> str:
        """`path` relative to the workspace when inside it, else absolute: for messages and listings."""
        return str(path.relative_to(self.workspace)) if path.is_relative_to(self.workspace) else str(path)

    def _resolve(self, raw: Any) -> Path:
        if not isinstance(raw, str) or not raw:
            raise ToolError("invalid_path", "path must be a non-empty string.")
        if "\x00" in raw:
            raise ToolError("invalid_path", f"path {raw!r} contains a NUL byte.")
        return real_path(raw, self.workspace)

    def _refusal(self, raw: str, path: Path, verb: str, roots: tuple[Path, ...]) -> ToolError:
        allowed = ", ".join(str(root) for root in roots) or "nothing"
        return ToolError(
            "path_not_allowed",
            f"{raw!r} resolves to {path}, outside the paths this tool may {verb} ({allowed}).",
        )
