"""`write_file`: create or overwrite a text file, creating its parent directories.

Every write (`write_file`, `edit_file`) is atomic (issue 7, defect 8): the bytes go to a temporary
file in the same folder, are fsynced, and the temporary file is renamed over the target. A reader
sees the old content or the new, never a mix; a failure (a full disk) leaves the original intact
and removes the temporary file.
"""

import contextlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .base import FilesystemTool, text_arg
from .errors import ToolError
from .paths import PathPolicy


def write_text(path: Path, content: str) -> int:
    """Write `content` as UTF-8 to `path` exactly (no newline translation); return the bytes written.

    Undecodable bytes read with `surrogateescape` are written back unchanged.

    Raises:
        ToolError: `invalid_input` when `content` holds a lone surrogate that is not such a byte.
        ToolError: `io_error` when the write fails (disk full, permission denied); the file at
            `path` keeps its previous content (or is still absent).
        OSError: from mkdir (the tools report it as `io_error`).
    """
    try:
        data = content.encode("utf-8", errors="surrogateescape")
    except UnicodeEncodeError as error:
        raise ToolError("invalid_input", f"content is not valid Unicode text: {error.reason}.") from None
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        _replace(path, data)
    except OSError as error:
        kept = "its previous content is unchanged" if path.exists() else "no file was created"
        raise ToolError("io_error", f"Could not write {path}: {error.strerror or error}; {kept}.") from None
    return len(data)


def _replace(path: Path, data: bytes) -> None:
    """Write `data` to a temporary file beside `path`, fsync it, give it `path`'s mode (and owner,
    where allowed), and rename it over `path`. On any failure the temporary file is removed."""
    mode, owner = _mode_and_owner(path)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, mode)
        if owner is not None:
            with contextlib.suppress(PermissionError):
                os.chown(temporary, *owner)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _mode_and_owner(path: Path) -> tuple[int, tuple[int, int] | None]:
    """The permission bits and (uid, gid) of the file at `path`; for a new file, the mode
    `open()` would give it (0o666 less the umask) and no owner."""
    try:
        status = path.stat()
    except FileNotFoundError:
        return 0o666 & ~_umask(), None
    return status.st_mode & 0o7777, (status.st_uid, status.st_gid)


def _umask() -> int:
    """The process's umask, read from /proc (setting it to read it would race the other threads)."""
    with contextlib.suppress(OSError, StopIteration, ValueError):
        lines = Path("/proc/self/status").read_text().splitlines()
        return int(next(line for line in lines if line.startswith("Umask:")).split()[1], 8)
    return 0o022


@dataclass
class WriteFileTool(FilesystemTool):
    """Writes `content` to `file_path` (replacing any file there). Output (as Microsoft's
    tool-filesystem `write_file`): `{"file_path", "bytes"}`, the bytes written.

    Errors: `invalid_input`, `invalid_path`, `path_not_allowed`, `write_denied`, `not_a_file`
    (the path is a directory), `io_error`.
    """

    policy: PathPolicy

    name = "write_file"
    description = "Create or overwrite a file with content; parent dirs are created."
    input_schema = {
        "type": "object",
        "properties": {"file_path": {"type": "string"}, "content": {"type": "string"}},
        "required": ["file_path", "content"],
    }

    def run(self, input: dict[str, Any]) -> dict[str, Any]:
        raw = text_arg(input, "file_path")
        content = text_arg(input, "content")
        path = self.policy.for_write(raw)
        if path.is_dir():
            raise ToolError("not_a_file", f"{raw} is a directory.")
        return {"file_path": self.policy.show(path), "bytes": write_text(path, content)}
