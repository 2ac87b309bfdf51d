"""`write_file`: create or overwrite a text file, creating its parent directories."""

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
        OSError: from mkdir or the write (the tools report it as `io_error`).
    """
    try:
        data = content.encode("utf-8", errors="surrogateescape")
    except UnicodeEncodeError as error:
        raise ToolError("invalid_input", f"content is not valid Unicode text: {error.reason}.") from None
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return len(data)


@dataclass
class WriteFileTool(FilesystemTool):
    """Writes `content` to `path` (replacing any file there) and reports the bytes written.

    Errors: `invalid_input`, `invalid_path`, `path_not_allowed`, `write_denied`, `not_a_file`
    (the path is a directory), `io_error`.
    """

    policy: PathPolicy

    name = "write_file"
    description = "Create or overwrite a file with content; parent dirs are created."
    input_schema = {
        "type": "object",
        "properties": {"path": {"type": "string"}, "content": {"type": "string"}},
        "required": ["path", "content"],
    }

    def run(self, input: dict[str, Any]) -> str:
        raw = text_arg(input, "path")
        content = text_arg(input, "content")
        path = self.policy.for_write(raw)
        if path.is_dir():
            raise ToolError("not_a_file", f"{raw} is a directory.")
        return f"Wrote {write_text(path, content)} bytes to {self.policy.show(path)}."
