"""Convert amplifier-core ``ChatRequest`` messages into chat-template messages.

The output is the OpenAI-style list the Hugging Face chat templates (and so
the GGUF's ``tokenizer.chat_template``) expect: one leading system message,
then user / assistant / tool messages. Assistant tool calls become
``tool_calls`` entries with dict arguments; tool results become ``tool``
messages with text content. Rules, in order of the roles:

- system: all system messages are merged, in order, into the first message
  (templates only honour a leading one); ``extra_system`` is appended.
- developer: a user message wrapped in ``<context_file>`` tags, as the
  reference providers do.
- user: text blocks joined; ``ToolResultBlock``s (Anthropic style) become tool messages.
- assistant: text blocks joined; ``ToolCallBlock``s and a ``tool_calls`` extra
  field (the context-manager dict form, ``{"id", "tool"|"name", "arguments"|"input"}``)
  become tool calls, de-duplicated by id. Thinking and reasoning blocks are dropped.
- tool / function: a tool message; non-text output is JSON-encoded.
"""

import json
from typing import Any

from amplifier_core.message_models import (
    Message,
    ToolCallBlock,
    ToolResultBlock,
    ToolSpec,
)

TemplateMessage = dict[str, Any]


def to_template_messages(messages: list[Message], extra_system: str | None = None) -> list[TemplateMessage]:
    """The chat-template message list for ``messages`` (see the module docstring)."""
    system = [_text(m.content) for m in messages if m.role == "system"]
    if extra_system:
        system.append(extra_system)
    converted = [{"role": "system", "content": "\n\n".join(part for part in system if part)}] if any(system) else []
    for message in messages:
        converted.extend(_convert(message))
    return converted


def tool_result_since_last_user(messages: list[Message]) -> bool:
    """Whether a tool result follows the last plain user message (the model has acted since)."""
    for message in reversed(messages):
        if message.role in ("tool", "function") or _tool_results(message.content):
            return True
        if message.role == "user":
            return False
    return False


def to_template_tools(tools: list[ToolSpec] | None) -> list[dict[str, Any]]:
    """Tools in the OpenAI ``{"type": "function", "function": {...}}`` form templates render."""
    return [
        {"type": "function", "function": {"name": t.name, "description": t.description or "", "parameters": t.parameters}}
        for t in tools or []
    ]


def _convert(message: Message) -> list[TemplateMessage]:
    if message.role == "system":
        return []
    if message.role == "developer":
        return [{"role": "user", "content": f"<context_file>\n{_text(message.content)}\n</context_file>"}]
    if message.role == "assistant":
        return [_assistant(message)]
    results = _tool_results(message.content)
    if message.role in ("tool", "function"):
        return results or [_tool_result(message.content)]
    text = _text(message.content)
    return results + ([{"role": "user", "content": text}] if text or not results else [])


def _tool_results(content: Any) -> list[TemplateMessage]:
    blocks = content if isinstance(content, list) else []
    return [_tool_result(block.output) for block in blocks if isinstance(block, ToolResultBlock)]


def _assistant(message: Message) -> TemplateMessage:
    calls: dict[str, dict[str, Any]] = {}
    for block in message.content if isinstance(message.content, list) else []:
        if isinstance(block, ToolCallBlock):
            calls[block.id] = _call(block.name, block.input)
    for index, extra in enumerate(getattr(message, "tool_calls", None) or []):
        call_id = extra.get("id") or f"extra-{index}"
        calls.setdefault(call_id, _call(extra.get("tool") or extra.get("name", ""), extra.get("arguments", extra.get("input"))))
    rendered: TemplateMessage = {"role": "assistant", "content": _text(message.content)}
    if calls:
        rendered["tool_calls"] = list(calls.values())
    return rendered


def _call(name: str, arguments: Any) -> dict[str, Any]:
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except ValueError:
            arguments = {"input": arguments}
    return {"type": "function", "function": {"name": name, "arguments": arguments or {}}}


def _tool_result(output: Any) -> TemplateMessage:
    return {"role": "tool", "content": _text(output)}


def _text(content: Any) -> str:
    """Text of a message content or tool output: strings as-is, text blocks joined, the rest as JSON."""
    if isinstance(content, str):
        return content
    if isinstance(content, list) and all(_block_type(block) for block in content):
        return "\n".join(_block_text(block) for block in content if _block_type(block) == "text")
    return json.dumps(content, default=str, ensure_ascii=False)


def _block_type(block: Any) -> str | None:
    """The ``type`` of a content block, given as a model or as a dict; None for anything else."""
    return block.get("type") if isinstance(block, dict) else getattr(block, "type", None)


def _block_text(block: Any) -> str:
    return block.get("text", "") if isinstance(block, dict) else block.text
