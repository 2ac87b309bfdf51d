"""The one error type the filesystem tools raise internally, and its ToolResult form."""

from amplifier_core.models import ToolResult


class ToolError(Exception):
    """A refusal or failure to report to the model, never to raise past `execute()`.

    Args:
        code: a stable snake_case code (the list is in docs/modules/tool-filesystem.md).
        message: one sentence that names the path and says what to do instead.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def result(self) -> ToolResult:
        """This error as `ToolResult(success=False, output=message, error={"code", "message"})`: the
        message also in `output`, as Microsoft's tool-filesystem gives it (docs/modules/tool-filesystem.md)."""
        return ToolResult(success=False, output=self.message, error={"code": self.code, "message": self.message})
