"""What the web tools share: `execute()` turning a `WebError` into a failed ToolResult."""

from typing import Any

from amplifier_core.models import ToolResult

from .errors import WebError


class WebTool:
    """Base of `web_search` and `web_fetch`: a subclass implements `async run(input) -> str`."""

    async def run(self, input: dict[str, Any]) -> str:
        """The text for the model; raise `WebError` for anything that went wrong."""
        raise NotImplementedError

    async def execute(self, input: dict[str, Any]) -> ToolResult:
        """Run the tool; every failure is `ToolResult(success=False, error={"code", "message"})`."""
        try:
            return ToolResult(success=True, output=await self.run(input))
        except WebError as error:
            return error.result()
