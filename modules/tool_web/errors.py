"""`WebError`: a failure the web tools report as a ToolResult instead of raising."""

from amplifier_core.models import ToolResult


class WebError(Exception):
    """Raised inside the web tools with `(code, message)`; `execute()` turns it into a result.

    The codes are listed in docs/modules/tool-web.md; the message names the host or URL.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)

    def result(self) -> ToolResult:
        """`ToolResult(success=False, error={"code", "message"})`."""
        code, message = self.args
        return ToolResult(success=False, error={"code": code, "message": message})
