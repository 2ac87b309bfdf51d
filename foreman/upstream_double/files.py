"""``upstream-double-tool-filesystem``: read_file, write_file, edit_file as Microsoft's module has them.

After microsoft/amplifier-module-tool-filesystem (read.py, write.py, edit.py, path_validation.py):
``file_path`` is joined to config ``working_dir`` (else the ``session.working_dir`` capability) when
relative; reads are not confined; writes must fall in ``allowed_write_paths`` (default: the working
dir) and not in ``denied_write_paths``, both resolved against the PROCESS's current directory (the
hazard issue 9 names). Results: read ``{"file_path", "content", "total_lines", "lines_read",
"offset"}``, write ``{"file_path", "bytes"}``, edit ``{"file_path", "replacements_made",
"bytes_written"}``; a failure is ``ToolResult(success=False, output=message, error={"message"})``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from amplifier_core.models import ToolResult

__amplifier_module_type__ = "tool"


def _failure(message: str) -> ToolResult:
    return ToolResult(success=False, output=message, error={"message": message})


def _within(target: Path, roots: list[str]) -> bool:
    resolved = target.resolve()
    return any(resolved == (root := Path(p).expanduser().resolve()) or root in resolved.parents for p in roots)


class _FileTool:
    """What the three tools share: config, path resolution, the write check."""

    name: str
    description: str
    input_schema: dict[str, Any]

    def __init__(self, config: dict[str, Any]) -> None:
        self.working_dir = config.get("working_dir")
        self.allowed = config.get("allowed_write_paths", [self.working_dir] if self.working_dir else ["."])
        self.denied = config.get("denied_write_paths", [])

    def path(self, input: dict[str, Any]) -> Path | None:
        raw = input.get("file_path", "")
        if not raw:
            return None
        path = Path(raw).expanduser()
        return Path(self.working_dir) / path if not path.is_absolute() and self.working_dir else path

    def write_refusal(self, path: Path) -> str | None:
        if self.denied and _within(path, self.denied):
            return f"Access denied: {path} is within denied directories"
        return None if _within(path, self.allowed) else f"Access denied: {path} is not within allowed write paths"

    async def execute(self, input: dict[str, Any]) -> ToolResult:
        path = self.path(input)
        if path is None:
            return _failure("file_path is required")
        try:
            return self.run(path, input)
        except (OSError, UnicodeDecodeError) as error:
            return _failure(f"Error with {path}: {error}")

    def run(self, path: Path, input: dict[str, Any]) -> ToolResult:
        raise NotImplementedError


class ReadTool(_FileTool):
    name = "read_file"
    description = "Reads a file from the local filesystem (cat -n format, offset/limit)."
    input_schema = {"type": "object", "required": ["file_path"], "properties": {
        "file_path": {"type": "string"}, "offset": {"type": "integer"}, "limit": {"type": "integer"}}}

    def run(self, path: Path, input: dict[str, Any]) -> ToolResult:
        if not path.exists():
            return _failure(f"Path not found: {input['file_path']}")
        offset, limit = input.get("offset", 1), input.get("limit", 2000)
        lines = path.read_text(encoding="utf-8").splitlines()
        window = lines[max(0, offset - 1):max(0, offset - 1) + limit]
        content = "\n".join(f"{number:6d}\t{line}" for number, line in enumerate(window, start=offset))
        return ToolResult(success=True, output={"file_path": str(path), "content": content, "total_lines": len(lines),
                                                "lines_read": len(window), "offset": offset})


class WriteTool(_FileTool):
    name = "write_file"
    description = "Writes a file to the local filesystem."
    input_schema = {"type": "object", "required": ["file_path", "content"], "properties": {
        "file_path": {"type": "string"}, "content": {"type": "string"}}}

    def run(self, path: Path, input: dict[str, Any]) -> ToolResult:
        refusal = self.write_refusal(path)
        if refusal:
            return _failure(refusal)
        content = input.get("content", "")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
        return ToolResult(success=True, output={"file_path": str(path), "bytes": len(content.encode("utf-8"))})


class EditTool(_FileTool):
    name = "edit_file"
    description = "Performs exact string replacements in files."
    input_schema = {"type": "object", "required": ["file_path", "old_string", "new_string"], "properties": {
        "file_path": {"type": "string"}, "old_string": {"type": "string"}, "new_string": {"type": "string"},
        "replace_all": {"type": "boolean"}}}

    def run(self, path: Path, input: dict[str, Any]) -> ToolResult:
        refusal = self.write_refusal(path)
        if refusal or not path.exists():
            return _failure(refusal or f"File not found: {input['file_path']}")
        text, old, new = path.read_text(encoding="utf-8"), input.get("old_string", ""), input.get("new_string", "")
        count = text.count(old) if old else 0
        if count == 0 or (count > 1 and not input.get("replace_all", False)):
            return _failure(f"old_string found {count} times in {input['file_path']}")
        text = text.replace(old, new) if input.get("replace_all", False) else text.replace(old, new, 1)
        path.write_text(text, encoding="utf-8")
        output = {"file_path": str(path), "replacements_made": count, "bytes_written": len(text.encode("utf-8"))}
        return ToolResult(success=True, output=output)


def with_working_dir(coordinator: Any, config: dict[str, Any] | None) -> dict[str, Any]:
    """``config`` with ``working_dir`` from the ``session.working_dir`` capability when it has none (as upstream)."""
    config = dict(config or {})
    if "working_dir" not in config and coordinator.get_capability("session.working_dir"):
        config["working_dir"] = coordinator.get_capability("session.working_dir")
    return config


async def mount(coordinator: Any, config: dict[str, Any] | None = None) -> None:
    """Mount the three tools at ``tools``; ``working_dir`` defaults to the ``session.working_dir`` capability."""
    config = with_working_dir(coordinator, config)
    for tool in (ReadTool(config), WriteTool(config), EditTool(config)):
        await coordinator.mount("tools", tool, name=tool.name)
