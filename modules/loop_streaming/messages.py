"""Conversions between the context's message dicts and amplifier-core's typed models.

Stored shapes (what the context receives from this orchestrator):

- user prompt: ``{"role": "user", "content": str}``
- model turn: ``{"role": "assistant", "content": [block dicts], "tool_calls": [...]}`` where
  the blocks are the response's content blocks plus one ``{"type": "tool_call", ...}``
  block per tool call, and ``tool_calls`` (present only when there are calls) lists
  ``{"id", "tool", "arguments"}`` as amplifier's reference orchestrators store them;
  ``metadata`` carries the response's provider metadata when there is any.
- tool result: ``{"role": "tool", "tool_call_id": str, "name": str, "content": str}``.
"""

from typing import Any

from amplifier_core.message_models import ChatResponse, Message, TextBlock, ToolCall, ToolCallBlock, ToolSpec
from amplifier_core.models import ContextInjection, ToolResult


def to_request_messages(messages: list[dict[str, Any]]) -> list[Message]:
    """Context dicts as typed request messages (extra keys are kept by ``Message``).

    Raises:
        pydantic.ValidationError: a stored message has no valid ``role``/``content``.
    """
    return [Message.model_validate(message) for message in messages]


def response_text(response: ChatResponse) -> str:
    """The visible text of a response: its text blocks joined by blank lines."""
    return "\n\n".join(block.text for block in response.content if isinstance(block, TextBlock))


def assistant_message(response: ChatResponse, calls: list[ToolCall]) -> dict[str, Any]:
    """The context message recording a model turn and the tool ``calls`` parsed from it."""
    blocks = [block.model_dump(mode="json", exclude_none=True) for block in response.content]
    listed = {block["id"] for block in blocks if block.get("type") == "tool_call"}
    blocks += [
        ToolCallBlock(id=call.id, name=call.name, input=call.arguments).model_dump(mode="json", exclude_none=True)
        for call in calls
        if call.id not in listed
    ]
    message: dict[str, Any] = {"role": "assistant", "content": blocks or ""}
    if calls:
        message["tool_calls"] = [{"id": call.id, "tool": call.name, "arguments": call.arguments} for call in calls]
    if response.metadata:
        message["metadata"] = response.metadata
    return message


def final_text_message(text: str) -> dict[str, Any]:
    """The context message for an answer kept as text only (e.g. the wrap-up answer)."""
    return {"role": "assistant", "content": text}


def tool_message(call: ToolCall, result: ToolResult) -> dict[str, Any]:
    """The context message giving the model the ``result`` of ``call``.

    A failed result's text starts with ``"Error: "`` so the model can tell it apart.
    """
    text = result.get_serialized_output()
    if not result.success and not text.startswith("Error"):
        text = f"Error: {text}"
    return {"role": "tool", "tool_call_id": call.id, "name": call.name, "content": text}


def with_injections(messages: list[dict[str, Any]], injections: list[ContextInjection]) -> list[dict[str, Any]]:
    """``messages`` plus ephemeral hook ``injections`` for one request (nothing is stored).

    An injection with ``append_to_last_tool_result`` is appended to the last message's
    text when that message is a tool result with string content; otherwise, and for all
    other injections, it becomes a new message with the injection's role.
    """
    result = list(messages)
    for injection in injections:
        last = result[-1] if result else {}
        appendable = last.get("role") == "tool" and isinstance(last.get("content"), str)
        if injection.append_to_last_tool_result and appendable:
            result[-1] = {**last, "content": f"{last['content']}\n\n{injection.content}"}
        else:
            result.append({"role": injection.role, "content": injection.content})
    return result


def tool_specs(tools: dict[str, Any]) -> list[ToolSpec] | None:
    """The tool list of a request: one spec per mounted tool, named by its mount name; None if no tools.

    A tool without ``input_schema`` is offered as taking an empty object.
    """
    specs = [
        ToolSpec(
            name=name,
            description=getattr(tool, "description", None) or "",
            parameters=getattr(tool, "input_schema", None) or {"type": "object", "properties": {}},
        )
        for name, tool in tools.items()
    ]
    return specs or None
