"""``upstream-double-loop-streaming``: an orchestrator with upstream loop-streaming's observable contract.

After microsoft/amplifier-module-loop-streaming (``__init__.py``): the system message comes only
from the context (no ``system_prompt`` config); each model call is framed by ``provider:request``
and NO ``provider:response``; ``tool:pre`` / ``tool:post`` carry ``tool_name``, ``tool_call_id``,
``tool_input`` and (post) ``result`` (``ToolResult.model_dump()``); a ``deny`` on ``tool:pre``
makes ``"Denied by hook: <reason>"`` the result; the assistant turn is stored as ``content``
(the response's blocks) plus ``tool_calls`` (``{"id", "tool", "arguments"}``); the loop stops at
the session's cancellation or config ``max_iterations`` (default 50 here).
"""

from __future__ import annotations

from typing import Any

from amplifier_core.events import PROMPT_SUBMIT, PROVIDER_REQUEST, TOOL_POST, TOOL_PRE
from amplifier_core.message_models import ChatRequest, Message, TextBlock, ToolSpec
from amplifier_core.models import ToolResult

__amplifier_module_type__ = "orchestrator"
DEFAULT_MAX_ITERATIONS = 50


class LoopDouble:
    """The orchestrator (amplifier-core ``Orchestrator`` protocol)."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.max_iterations = int(config.get("max_iterations", DEFAULT_MAX_ITERATIONS))
        if self.max_iterations < 0:
            self.max_iterations = DEFAULT_MAX_ITERATIONS

    async def execute(self, prompt: str, context: Any, providers: dict[str, Any], tools: dict[str, Any],
                      hooks: Any, coordinator: Any = None, **kwargs: Any) -> str:
        """Run ``prompt`` to a final answer (text), calling tools on the way."""
        name, provider = next(iter(providers.items()))  # the double's plans mount one provider
        await hooks.emit(PROMPT_SUBMIT, {"prompt": prompt})
        await context.add_message({"role": "user", "content": prompt})
        specs = [ToolSpec(name=n, description=t.description, parameters=t.input_schema) for n, t in tools.items()]
        text = ""
        for iteration in range(1, self.max_iterations + 1):
            if _cancelled(coordinator):
                break
            await hooks.emit(PROVIDER_REQUEST, {"provider": name, "iteration": iteration})
            messages = await context.get_messages_for_request(provider=provider)
            response = await provider.complete(ChatRequest(messages=[Message.model_validate(m) for m in messages],
                                                           tools=specs or None))
            calls = provider.parse_tool_calls(response)
            text = "\n\n".join(b.text for b in response.content if isinstance(b, TextBlock))
            stored = {"role": "assistant", "content": [b.model_dump() for b in response.content] or text}
            if calls:
                stored["tool_calls"] = [{"id": c.id, "tool": c.name, "arguments": c.arguments} for c in calls]
            await context.add_message(stored)
            if not calls:
                return text
            for call in calls:
                content = await _run_tool(call, tools, hooks, coordinator)
                result = {"role": "tool", "tool_call_id": call.id, "name": call.name, "content": content}
                await context.add_message(result)
        return text


async def _run_tool(call: Any, tools: dict[str, Any], hooks: Any, coordinator: Any) -> str:
    event = {"tool_name": call.name, "tool_call_id": call.id, "tool_input": call.arguments}
    pre = await hooks.emit(TOOL_PRE, event)
    if coordinator is not None:
        pre = await coordinator.process_hook_result(pre, TOOL_PRE, call.name)
    if pre.action == "deny":
        return f"Denied by hook: {pre.reason}"
    tool = tools.get(call.name)
    if tool is None:
        return f"Error: Tool '{call.name}' not found"
    try:
        result = await tool.execute(call.arguments)
    except Exception as error:  # upstream turns any tool exception into the result text
        result = ToolResult(success=False, error={"message": str(error)})
    await hooks.emit(TOOL_POST, {**event, "result": result.model_dump()})
    return result.get_serialized_output()


def _cancelled(coordinator: Any) -> bool:
    cancellation = getattr(coordinator, "cancellation", None)
    return bool(cancellation is not None and cancellation.is_cancelled)


async def mount(coordinator: Any, config: dict[str, Any] | None = None) -> None:
    """Mount the orchestrator; config ``max_iterations`` (int, -1 or absent: 50)."""
    await coordinator.mount("orchestrator", LoopDouble(config or {}))
