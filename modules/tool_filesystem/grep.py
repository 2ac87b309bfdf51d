"""`grep`: lines matching a Python regular expression in the files a glob selects."""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .base import FilesystemTool, text_arg
from .errors import ToolError
from .globbing import matching_files
from .listing import DEFAULT_MAX_RESULTS
from .paths import PathPolicy
from .textfile import BINARY_PROBE_BYTES

MAX_FILE_BYTES = 2_000_000  # larger files are skipped
MAX_LINE_CHARS = 300  # a matching line is cut to this many characters


@dataclass
class GrepTool(FilesystemTool):
    """Searches the files matching `glob` (default `**/*`) for `pattern` (Python `re`, searched
    per line; `(?i)` for case-insensitive). Output lines are `path:line: text`, at most
    `max_results` of them; binary files and files over `MAX_FILE_BYTES` are skipped.

    Errors: `invalid_input`, `invalid_regex`, `invalid_glob`, `invalid_path`, `path_not_allowed`.
    """

    policy: PathPolicy
    max_results: int = DEFAULT_MAX_RESULTS

    name = "grep"
    description = "Search file contents with a Python regex; glob limits files (default **/*)."
    input_schema = {
        "type": "object",
        "properties": {"pattern": {"type": "string"}, "glob": {"type": "string"}},
        "required": ["pattern"],
    }

    def run(self, input: dict[str, Any]) -> str:
        regex = _compile(text_arg(input, "pattern"))
        files = matching_files(self.policy, text_arg(input, "glob", "**/*"))
        found = []
        for path in files:
            for number, line in _matching_lines(path, regex):
                if len(found) == self.max_results:
                    return "\n".join([*found, f"[stopped after {self.max_results} matches; narrow the search]"])
                found.append(f"{self.policy.show(path)}:{number}: {line[:MAX_LINE_CHARS]}")
        return "\n".join(found) or "[no matches]"


def _compile(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as error:
        raise ToolError("invalid_regex", f"pattern {pattern!r} is not a valid Python regex: {error}.") from None


def _matching_lines(path: Path, regex: re.Pattern[str]) -> Iterator[tuple[int, str]]:
    """(line number, line) for each matching line; nothing for a binary, huge or unreadable file."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return
        data = path.read_bytes()
    except OSError:
        return
    if b"\x00" in data[:BINARY_PROBE_BYTES]:
        return
    for number, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), start=1):
        if regex.search(line):
            yield number, line
