"""Telling text files from binary ones, and refusing what the text tools cannot handle."""

from pathlib import Path

from .errors import ToolError

BINARY_PROBE_BYTES = 8192  # a NUL byte in the first 8 KiB marks a file as binary (git's rule)


def is_binary(path: Path) -> bool:
    """Whether the first `BINARY_PROBE_BYTES` of the file at `path` contain a NUL byte."""
    with path.open("rb") as stream:
        return b"\x00" in stream.read(BINARY_PROBE_BYTES)


def require_text_file(path: Path, shown: str) -> None:
    """Check that `path` is an existing, non-binary regular file.

    Args:
        path: the real path; shown: how to name it in messages.

    Raises:
        ToolError: `file_not_found`, `not_a_file` (a directory or special file), `binary_file`.
    """
    if not path.exists():
        raise ToolError("file_not_found", f"{shown} does not exist.")
    if not path.is_file():
        raise ToolError("not_a_file", f"{shown} is not a regular file.")
    if is_binary(path):
        raise ToolError("binary_file", f"{shown} looks binary (it contains NUL bytes).")
