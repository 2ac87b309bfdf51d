"""Running one batch of tool calls concurrently, each framed by tool:pre / tool:post.

Every call gets exactly one result and exactly one ``tool:post`` event, whatever
happens: a hook's ``deny`` on ``tool:pre`` (the tool is not run; the model is told the
reason), an unknown tool name, an exception from the tool, or ``success=False``. The
first three also emit ``tool:error``. Results come back in call order, whatever order
the tools finish in.
"""

import asyncio
import json
import random
from typing import Any

from amplifier_core.events import TOOL_ERROR, TOOL_POST, TOOL_PRE
from amplifier_core.message_models import ToolCall
from amplifier_core.models import ToolResult

from .hook_results import HookResultHandler


class ToolRunner:
    """Runs tool calls for one ``execute()`` call.

    Args:
        tools: mounted tools by name (the names the model sees).
        hooks: the hook registry (``emit(event, data) -> HookResult``).
        handler: applies hook results (deny, approval, held injections).
        cancellation: the session's cancellation token (running tools are registered on
            it, so ``running_tool_names`` shows them), or None.
    """

    def __init__(self, tools: dict[str, Any], hooks: Any, handler: HookResultHandler, cancellation: Any | None):
        self._tools = tools
        self._hooks = hooks
        self._handler = handler
        self._cancellation = cancellation

    async def run(self, calls: list[ToolCall]) -> list[ToolResult]:
        """Run ``calls`` concurrently (``asyncio.gather``); one result per call, in call order.

        The batch's ``parallel_group_id`` is 128 random bits in hex, as ``uuid4().hex`` is long, from
        Python's generator: it only tells batches apart, and ``uuid4``'s ``os.urandom`` is a system
        call per model call."""
        group = f"{random.getrandbits(128):032x}"
        runs = (self._run_one(call, position, group) for position, call in enumerate(calls))
        return list(await asyncio.gather(*runs))

    async def _run_one(self, call: ToolCall, position: int, group: str) -> ToolResult:
        event = {
            "tool_name": call.name,
            "tool_call_id": call.id,
            "tool_input": call.arguments,  # the key of amplifier-core's hook contract (HOOK_CONTRACT.md)
            "arguments": call.arguments,  # kept for hooks written against earlier versions
            "parallel_group_id": group,
        }
        pre = await self._hooks.emit(TOOL_PRE, event)
        pre = await self._handler.gate_tool(pre, TOOL_PRE, call.name, position)
        if pre.action == "deny":
            result = await self._fail(event, "Denied", f"Denied by hook: {pre.reason or 'no reason given'}")
        else:
            result = await self._execute(call, event)
        post = await self._hooks.emit(TOOL_POST, {**event, "result": result_payload(result)})
        await self._handler.gate_tool(post, TOOL_POST, call.name, position)
        return result

    async def _execute(self, call: ToolCall, event: dict[str, Any]) -> ToolResult:
        tool = self._tools.get(call.name)
        if tool is None:
            available = ", ".join(sorted(self._tools)) or "none"
            return await self._fail(event, "UnknownTool", f"Unknown tool '{call.name}'. Available tools: {available}")
        if self._cancellation is not None:
            self._cancellation.register_tool_start(call.id, call.name)
        try:
            result = await tool.execute(call.arguments)
        except Exception as error:
            kind = type(error).__name__
            return await self._fail(event, kind, f"Tool '{call.name}' raised {kind}: {error}")
        finally:
            if self._cancellation is not None:
                self._cancellation.register_tool_complete(call.id)
        return result if isinstance(result, ToolResult) else ToolResult(output=result)

    async def _fail(self, event: dict[str, Any], kind: str, message: str) -> ToolResult:
        """Emit ``tool:error`` and return the failed result the model will see."""
        error = {"type": kind, "message": message}
        await self._hooks.emit(TOOL_ERROR, {**event, "error": error})
        return ToolResult(success=False, error=error)


def result_payload(result: ToolResult) -> dict[str, Any]:
    """A JSON-safe view of ``result`` for events: ``success``, ``output``, ``error``.

    Values JSON cannot hold are turned into strings; rich ``content`` (images) is left out.
    """
    payload = {"success": result.success, "output": result.output, "error": result.error}
    return json.loads(json.dumps(payload, default=str))
