"""`read_file`: a window of a text file's lines, numbered, capped in bytes."""

from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from .base import FilesystemTool, int_arg, text_arg
from .paths import PathPolicy
from .textfile import require_text_file

DEFAULT_LINES = 2000  # lines returned when `limit` is not given
DEFAULT_MAX_READ_BYTES = 65_536  # bytes of numbered output per call (config `max_read_bytes`)
MAX_LINE_CHARS = 2000  # a longer line is cut and marked


@dataclass
class ReadFileTool(FilesystemTool):
    """Reads `file_path` from line `offset` (1-based, default 1), at most `limit` lines (default 2000).

    Output (the shape of Microsoft's tool-filesystem `read_file`, docs/modules/tool-filesystem.md):
    `{"file_path", "content", "total_lines", "lines_read", "offset"}`; `content` is `cat -n` style
    lines (`<number>\\t<text>`) then, when something was left out, one note in brackets giving the
    `offset` to continue from. Decoding is UTF-8 with replacement characters.

    Errors: `invalid_input`, `invalid_path`, `path_not_allowed`, `file_not_found`, `not_a_file`,
    `binary_file`, `io_error`.
    """

    policy: PathPolicy
    max_bytes: int = DEFAULT_MAX_READ_BYTES

    name = "read_file"
    description = "Read a text file with line numbers. offset/limit page through long files."
    input_schema = {
        "type": "object",
        "properties": {
            "file_path": {"type": "string", "description": "the file, relative to the workspace or absolute"},
            "offset": {"type": "integer", "description": "first line, 1-based"},
            "limit": {"type": "integer", "description": "max lines"},
        },
        "required": ["file_path"],
    }

    def run(self, input: dict[str, Any]) -> dict[str, Any]:
        raw = text_arg(input, "file_path")
        path = self.policy.for_read(raw)
        require_text_file(path, raw)
        offset = int_arg(input, "offset", 1)
        limit = int_arg(input, "limit", DEFAULT_LINES)
        content, read, total = _numbered_window(path, offset, limit, self.max_bytes)
        shown = self.policy.show(path)
        return {"file_path": shown, "content": content, "total_lines": total, "lines_read": read, "offset": offset}


def _numbered_window(path: Path, offset: int, limit: int, max_bytes: int) -> tuple[str, int, int]:
    """The numbered window's text, the lines in it, and the file's line count."""
    with path.open(encoding="utf-8", errors="replace") as stream:
        seen = _skip(stream, offset - 1)
        lines, used, total = [], 0, seen
        for number, line in enumerate(stream, start=offset):
            total = number
            text = _clip(line.rstrip("\n"))
            entry = f"{number:6}\t{text}\n"
            used += len(entry.encode())
            if len(lines) == limit or (used > max_bytes and lines):
                why = f"output capped at {max_bytes} bytes" if len(lines) < limit else "more lines follow"
                total = number + sum(1 for _ in stream)
                return "".join(lines) + f"[{why}: continue with offset={number}]\n", len(lines), total
            lines.append(entry)
    if lines:
        return "".join(lines), len(lines), total
    empty = f"[offset {offset} is past the end: the file has {seen} lines]" if offset > 1 else "[empty file]"
    return empty, 0, total


def _skip(stream: TextIO, count: int) -> int:
    """Consume up to `count` lines; return how many there were."""
    seen = 0
    while seen < count and stream.readline():
        seen += 1
    return seen


def _clip(line: str) -> str:
    if len(line) <= MAX_LINE_CHARS:
        return line
    return f"{line[:MAX_LINE_CHARS]}[... {len(line) - MAX_LINE_CHARS} more characters]"
