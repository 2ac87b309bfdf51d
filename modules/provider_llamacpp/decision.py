"""The schema of one reply when tools are offered: a tool call or a final answer.

The model's whole reply is decoded under one JSON schema: an ``anyOf`` with one
option ``{"name": <const tool name>, "arguments": <tool input schema>}`` per
offered tool, plus ``{"final_answer": <string>}`` when the model may answer in
text. Each option is bounded (``bounding.py``) to fit ``max_tokens``.
"""

import json
from collections.abc import Sequence
from typing import Any

from amplifier_core.llm_errors import InvalidRequestError
from amplifier_core.message_models import ToolSpec

from .bounding import OBJECT_CHARS, bound_schema, key_chars

FINAL_ANSWER_KEY = "final_answer"
# Measured on the 1.5B model (docs/benchmarks.md, provider-llamacpp): with "When no function call
# is needed, reply ..." it explained 3 of 3 goals in text instead of calling a tool; this wording
# (with act_first) got a call for 4 of 4 and a final answer once the work was done.
FINAL_ANSWER_INSTRUCTION = (
    f'Each reply is one function call. When the tool results show the task is done, '
    f'reply {{"{FINAL_ANSWER_KEY}": "<short summary>"}} instead.'
)


def tool_choice_mode(tool_choice: Any) -> str:
    """``ChatRequest.tool_choice`` as "auto", "none", "required" or a tool name.

    Accepts None/"auto", "none", "required"/"any", a tool name, and the
    OpenAI (``{"type": "function", "function": {"name"}}``) and Anthropic
    (``{"type": "tool"|"any"|"auto", "name"}``) dict forms.
    """
    if isinstance(tool_choice, dict):
        function = tool_choice.get("function")
        name = function.get("name") if isinstance(function, dict) else tool_choice.get("name")
        return name or {"any": "required", "none": "none"}.get(tool_choice.get("type"), "auto")
    if tool_choice in (None, "auto"):
        return "auto"
    return "required" if tool_choice == "any" else str(tool_choice)


def decision_schema(tools: Sequence[ToolSpec], mode: str, max_tokens: int, *, offer_answer: bool) -> dict[str, Any] | None:
    """The schema of one reply, or None when the reply is free text.

    Args:
        tools: the request's tools, in prompt order.
        mode: from ``tool_choice_mode``.
        max_tokens: generation cap for the reply, tokens.
        offer_answer: in "auto" mode, whether ``{"final_answer"}`` is an option now.

    Raises:
        InvalidRequestError: ``mode`` names a tool that is not offered.
    """
    if not tools or mode == "none":
        return None
    chosen = [tool for tool in tools if mode in ("auto", "required") or tool.name == mode]
    if not chosen:
        raise InvalidRequestError(f"tool_choice names {mode!r}, which is not among the offered tools", provider="llamacpp")
    options = [_tool_option(tool, max_tokens) for tool in chosen]
    if mode == "auto" and offer_answer:
        options.append(final_answer_option(max_tokens))
    return {"anyOf": options}


def final_answer_option(max_tokens: int) -> dict[str, Any]:
    """``{"final_answer": string}`` with a length that fits ``max_tokens``."""
    answer = bound_schema({"type": "string"}, max_tokens - OBJECT_CHARS - key_chars(FINAL_ANSWER_KEY))
    return {"type": "object", "properties": {FINAL_ANSWER_KEY: answer}, "required": [FINAL_ANSWER_KEY]}


def _tool_option(tool: ToolSpec, max_tokens: int) -> dict[str, Any]:
    wrapper = OBJECT_CHARS + key_chars("name") + len(json.dumps(tool.name)) + 1 + key_chars("arguments")
    arguments = bound_schema(tool.parameters or {"type": "object"}, max_tokens - wrapper)
    return {
        "type": "object",
        "properties": {"name": {"const": tool.name}, "arguments": arguments},
        "required": ["name", "arguments"],
    }
