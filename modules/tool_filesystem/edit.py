"""`edit_file`: replace an exact string in a text file, refusing ambiguous matches."""

from dataclasses import dataclass
from typing import Any

from .base import FilesystemTool, text_arg
from .errors import ToolError
from .paths import PathPolicy
from .textfile import require_text_file
from .write import write_text


@dataclass
class EditFileTool(FilesystemTool):
    """Replaces `old_string` with `new_string` in `file_path`: exactly one occurrence, or every one
    when `replace_all` is true. Matching is exact (whitespace and line endings included). Output (as
    Microsoft's tool-filesystem `edit_file`): `{"file_path", "replacements_made", "bytes_written"}`.

    Errors: `invalid_input` (also: empty `old_string`, or equal strings), `invalid_path`,
    `path_not_allowed`, `write_denied`, `file_not_found`, `not_a_file`, `binary_file`,
    `string_not_found`, `not_unique`, `io_error`.
    """

    policy: PathPolicy

    name = "edit_file"
    description = "Replace old_string with new_string in a file. old_string must match exactly once unless replace_all."
    input_schema = {
        "type": "object",
        "properties": {
            "file_path": {"type": "string"},
            "old_string": {"type": "string"},
            "new_string": {"type": "string"},
            "replace_all": {"type": "boolean"},
        },
        "required": ["file_path", "old_string", "new_string"],
    }

    def run(self, input: dict[str, Any]) -> dict[str, Any]:
        raw, old, new = (text_arg(input, key) for key in ("file_path", "old_string", "new_string"))
        if not old or old == new:
            raise ToolError("invalid_input", "old_string must be non-empty and differ from new_string.")
        path = self.policy.for_write(raw)
        require_text_file(path, raw)
        text = path.read_bytes().decode("utf-8", errors="surrogateescape")
        count = text.count(old)
        _check_count(count, raw, replace_all=input.get("replace_all") is True)
        written = write_text(path, text.replace(old, new))
        return {"file_path": self.policy.show(path), "replacements_made": count, "bytes_written": written}


def _check_count(count: int, shown: str, replace_all: bool) -> None:
    if count == 0:
        raise ToolError("string_not_found", f"old_string was not found in {shown}; read the file and copy the text exactly.")
    if count > 1 and not replace_all:
        raise ToolError(
            "not_unique",
            f"old_string occurs {count} times in {shown}; add surrounding lines to make it unique, or set replace_all.",
        )
