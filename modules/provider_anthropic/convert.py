"""amplifier-core ``ChatRequest`` -> Messages API request parameters.

Rules (Messages API, docs.anthropic.com/en/api/messages):

- ``system`` and ``developer`` messages become the top-level ``system`` text blocks.
- The other messages alternate ``user`` / ``assistant`` turns; consecutive messages of one
  role are merged into one turn, and ``tool_result`` blocks go first in a user turn, as the
  API requires.
- A ``tool`` message (``tool_call_id`` + content) or a ``tool_result`` block becomes a
  ``tool_result`` block in a user turn; non-string outputs are sent as JSON text.
- ``tool_call`` blocks become ``tool_use``; ``thinking`` / ``redacted_thinking`` / ``image``
  blocks pass through; other block types (OpenAI reasoning) are not sent.
- Tools (``ToolSpec``) become ``{name, description, input_schema}``.
- Prompt caching (prompt-caching guide): with ``enable_prompt_caching`` the last system block
  and the last tool definition carry ``cache_control: {"type": "ephemeral"}``, marking the
  stable prefix (tools, then system) as cacheable.
- ``temperature`` travels in ``extra_body``: the SDK (anthropic >= 1.0) no longer takes it as a
  keyword, the API still does.
"""

from __future__ import annotations

import json
from typing import Any

from amplifier_core.message_models import ChatRequest, Message, ToolSpec

from .config import AnthropicSettings

EPHEMERAL = {"type": "ephemeral"}
SYSTEM_ROLES = ("system", "developer")
TOOL_ROLES = ("tool", "function")
PASSTHROUGH_BLOCKS = {
    "thinking": ("thinking", "signature"),
    "redacted_thinking": ("data",),
    "image": ("source",),
}


def request_params(request: ChatRequest, settings: AnthropicSettings) -> dict[str, Any]:
    """Keyword arguments for ``AsyncAnthropic().messages.create`` / ``.stream``.

    ``model`` and ``max_tokens`` (tokens) come from the request when it sets them, else from
    ``settings``; ``timeout`` (seconds) is passed only when the request sets one.
    """
    caching = settings.enable_prompt_caching
    params: dict[str, Any] = {
        "model": request.model or settings.default_model,
        "max_tokens": request.max_output_tokens or settings.max_tokens,
        "messages": conversation(request.messages),
    }
    system = system_blocks(request.messages, caching)
    if system:
        params["system"] = system
    if request.tools:
        params["tools"] = tool_definitions(request.tools, caching)
    if request.stop:
        params["stop_sequences"] = request.stop
    temperature = settings.temperature if request.temperature is None else request.temperature
    if temperature is not None:
        params["extra_body"] = {"temperature": temperature}
    if request.timeout:
        params["timeout"] = request.timeout
    return params


def system_blocks(messages: list[Message], caching: bool) -> list[dict[str, Any]]:
    """The system prompt as text blocks; the last one marked for caching when ``caching``."""
    blocks = [_text(text) for m in messages if m.role in SYSTEM_ROLES for text in _texts(m.content)]
    return _mark_last(blocks) if caching else blocks


def tool_definitions(tools: list[ToolSpec], caching: bool) -> list[dict[str, Any]]:
    """Tool definitions; the last one marked for caching when ``caching``."""
    definitions = [_tool_definition(tool) for tool in tools]
    return _mark_last(definitions) if caching else definitions


def _tool_definition(tool: ToolSpec) -> dict[str, Any]:
    definition = {"name": tool.name, "input_schema": tool.parameters}
    if tool.description:
        definition["description"] = tool.description
    return definition


def conversation(messages: list[Message]) -> list[dict[str, Any]]:
    """The non-system messages as alternating user/assistant turns of content blocks."""
    turns: list[dict[str, Any]] = []
    for message in messages:
        if message.role in SYSTEM_ROLES:
            continue
        role = "assistant" if message.role == "assistant" else "user"
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(content_blocks(message))
        else:
            turns.append({"role": role, "content": content_blocks(message)})
    for turn in turns:
        turn["content"].sort(key=lambda block: block["type"] != "tool_result")
    return turns


def content_blocks(message: Message) -> list[dict[str, Any]]:
    """One message's content as Messages API content blocks.

    A tool message without ``tool_result`` blocks is one result for its ``tool_call_id``.
    """
    content = message.content
    if message.role in TOOL_ROLES and not _has_tool_results(content):
        output = content if isinstance(content, str) else "\n".join(_texts(content))
        return [_tool_result(message.tool_call_id, output)]
    if isinstance(content, str):
        return [_text(content)] if content else []
    return [converted for block in content if (converted := _block(block)) is not None]


def _block(block: Any) -> dict[str, Any] | None:
    if block.type == "text":
        return _text(block.text) if block.text else None
    if block.type == "tool_call":
        return {"type": "tool_use", "id": block.id, "name": block.name, "input": block.input}
    if block.type == "tool_result":
        return _tool_result(block.tool_call_id, block.output)
    fields = PASSTHROUGH_BLOCKS.get(block.type)
    if fields is None:
        return None
    return {"type": block.type} | {f: getattr(block, f) for f in fields if getattr(block, f) is not None}


def _has_tool_results(content: Any) -> bool:
    return not isinstance(content, str) and any(block.type == "tool_result" for block in content)


def _tool_result(tool_call_id: str | None, output: Any) -> dict[str, Any]:
    return {"type": "tool_result", "tool_use_id": tool_call_id, "content": _as_text(output)}


def _as_text(output: Any) -> str:
    return output if isinstance(output, str) else json.dumps(output, default=str)


def _texts(content: Any) -> list[str]:
    if isinstance(content, str):
        return [content] if content else []
    return [block.text for block in content if block.type == "text" and block.text]


def _text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


def _mark_last(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if blocks:
        blocks[-1] = {**blocks[-1], "cache_control": EPHEMERAL}
    return blocks
