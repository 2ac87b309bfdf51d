"""amplifier-core ``ChatRequest`` -> Chat Completions request parameters.

Rules (OpenAI Chat Completions API, platform.openai.com/docs/api-reference/chat/create, as
implemented by OpenAI-compatible servers):

- ``system`` and ``developer`` messages are sent as ``system`` (local servers rarely know
  ``developer``); their text blocks are joined with newlines.
- ``assistant`` messages carry their text as ``content`` and ``tool_call`` blocks as
  ``tool_calls`` of type ``function`` with JSON-encoded ``arguments``.
- A ``tool`` message (``tool_call_id`` + content) stays a ``tool`` message; each ``tool_result``
  block inside any message becomes its own ``tool`` message, placed before that message's text.
  Non-string outputs are sent as JSON text.
- Thinking, reasoning and image blocks are not sent.
- Tools (``ToolSpec``) become ``{"type": "function", "function": {name, description, parameters}}``.
- The output limit goes in ``max_tokens``, the field every compatible server accepts (OpenAI's
  newer ``max_completion_tokens`` is not understood by all of them).
"""

from __future__ import annotations

import json
from typing import Any

from amplifier_core.message_models import ChatRequest, Message, ToolSpec

from .config import OpenAISettings

SYSTEM_ROLES = ("system", "developer")
TOOL_ROLES = ("tool", "function")


def request_params(request: ChatRequest, settings: OpenAISettings) -> dict[str, Any]:
    """Keyword arguments for ``AsyncOpenAI().chat.completions.create``.

    ``model`` and ``max_tokens`` (tokens) come from the request when it sets them, else from
    ``settings``; ``timeout`` (seconds) is passed only when the request sets one.
    """
    params: dict[str, Any] = {
        "model": request.model or settings.default_model,
        "messages": chat_messages(request.messages),
        "max_tokens": request.max_output_tokens or settings.max_tokens,
    }
    if request.tools:
        params["tools"] = [function_tool(tool) for tool in request.tools]
    temperature = settings.temperature if request.temperature is None else request.temperature
    if temperature is not None:
        params["temperature"] = temperature
    if request.stop:
        params["stop"] = request.stop
    if request.timeout:
        params["timeout"] = request.timeout
    return params


def function_tool(tool: ToolSpec) -> dict[str, Any]:
    """One tool definition of type ``function``."""
    function = {"name": tool.name, "parameters": tool.parameters}
    if tool.description:
        function["description"] = tool.description
    return {"type": "function", "function": function}


def chat_messages(messages: list[Message]) -> list[dict[str, Any]]:
    """The conversation as Chat Completions messages."""
    return [converted for message in messages for converted in _converted(message)]


def _converted(message: Message) -> list[dict[str, Any]]:
    text = _text(message.content)
    if message.role in SYSTEM_ROLES:
        return [{"role": "system", "content": text}]
    results = _tool_results(message.content)
    if message.role in TOOL_ROLES and not results:
        return [{"role": "tool", "tool_call_id": message.tool_call_id, "content": text}]
    if message.role == "assistant":
        return [_assistant(message, text)]
    return results + ([{"role": "user", "content": text}] if text else [])


def _assistant(message: Message, text: str) -> dict[str, Any]:
    turn: dict[str, Any] = {"role": "assistant", "content": text or None}
    calls = [_tool_call(block) for block in _blocks(message.content) if block.type == "tool_call"]
    if calls:
        turn["tool_calls"] = calls
    return turn


def _tool_call(block: Any) -> dict[str, Any]:
    function = {"name": block.name, "arguments": json.dumps(block.input)}
    return {"id": block.id, "type": "function", "function": function}


def _tool_results(content: Any) -> list[dict[str, Any]]:
    return [
        {"role": "tool", "tool_call_id": block.tool_call_id, "content": _as_text(block.output)}
        for block in _blocks(content)
        if block.type == "tool_result"
    ]


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "\n".join(block.text for block in content if block.type == "text" and block.text)


def _blocks(content: Any) -> list[Any]:
    return [] if isinstance(content, str) else content


def _as_text(output: Any) -> str:
    return output if isinstance(output, str) else json.dumps(output, default=str)
