"""`list_files`: the files matching a glob pattern, sorted, capped."""

from dataclasses import dataclass
from itertools import islice
from typing import Any

from .base import FilesystemTool, text_arg
from .globbing import matching_files
from .paths import PathPolicy

DEFAULT_MAX_RESULTS = 200  # entries per `list_files` call, matching lines per `grep` (config `max_results`)


@dataclass
class ListFilesTool(FilesystemTool):
    """Lists the files matching `pattern` (default `**/*`; syntax in `globbing.py`), one path a line,
    relative to the workspace, at most `max_results` of them followed by a note when more match.

    Errors: `invalid_input`, `invalid_glob`, `invalid_path`, `path_not_allowed`.
    """

    policy: PathPolicy
    max_results: int = DEFAULT_MAX_RESULTS

    name = "list_files"
    description = "List files matching a glob, e.g. **/*.py (** spans directories)."
    input_schema = {
        "type": "object",
        "properties": {"pattern": {"type": "string"}},
    }

    def run(self, input: dict[str, Any]) -> str:
        found = matching_files(self.policy, text_arg(input, "pattern", "**/*"))
        shown = [self.policy.show(path) for path in islice(found, self.max_results)]
        more = sum(1 for _ in found)
        if more:
            shown.append(f"[{more} more files match; narrow the pattern]")
        return "\n".join(shown) or "[no files match]"
