"""Chat Completions result -> amplifier-core ``ChatResponse``.

A non-streaming call returns a ``ChatCompletion``; a streaming call's chunks are accumulated by
the SDK's ``ChatCompletionStreamState`` into a snapshot with the same fields, so one conversion
serves both and the ChatResponse is the same either way.

Rules: the first choice is read; its ``content`` -> TextBlock, each function ``tool_call`` ->
ToolCallBlock and a ToolCall with the JSON ``arguments`` decoded (empty -> ``{}``);
``finish_reason`` is passed through. Usage: ``prompt_tokens`` / ``completion_tokens`` /
``total_tokens``, ``prompt_tokens_details.cached_tokens`` -> cache_read_tokens,
``completion_tokens_details.reasoning_tokens`` -> reasoning_tokens; ``cost_usd`` is set by the
provider from its config's price table (``pricing``).
"""

from __future__ import annotations

import json
from typing import Any

from amplifier_core import llm_errors
from amplifier_core.message_models import ChatResponse, TextBlock, ToolCall, ToolCallBlock, Usage

PROVIDER = "openai"


def chat_response(completion: Any) -> ChatResponse:
    """The ChatResponse for a ``ChatCompletion`` (or an accumulated stream snapshot).

    Raises:
        llm_errors.LLMError: the completion has no choices.
        llm_errors.InvalidToolCallError: a tool call's arguments are not a JSON object.
    """
    if not completion.choices:
        message = f"{PROVIDER}: completion has no choices"
        raise llm_errors.LLMError(message, provider=PROVIDER, model=completion.model)
    choice = completion.choices[0]
    blocks: list[Any] = [TextBlock(text=choice.message.content)] if choice.message.content else []
    blocks += [_tool_call_block(call, completion.model) for call in choice.message.tool_calls or []]
    calls = [ToolCall(id=b.id, name=b.name, arguments=b.input) for b in blocks if b.type == "tool_call"]
    return ChatResponse(
        content=blocks,
        tool_calls=calls or None,
        usage=usage(completion.usage),
        finish_reason=choice.finish_reason,
        metadata={"model": completion.model, "response_id": completion.id},
    )


def usage(counts: Any) -> Usage | None:
    """Usage in tokens from a Chat Completions ``usage`` object (None when the server sent none)."""
    if counts is None:
        return None
    prompt_details = counts.prompt_tokens_details
    completion_details = counts.completion_tokens_details
    return Usage(
        input_tokens=counts.prompt_tokens,
        output_tokens=counts.completion_tokens,
        total_tokens=counts.total_tokens,
        cache_read_tokens=prompt_details.cached_tokens if prompt_details else None,
        reasoning_tokens=completion_details.reasoning_tokens if completion_details else None,
    )


def _tool_call_block(call: Any, model: str) -> ToolCallBlock:
    raw = call.function.arguments or "{}"
    try:
        arguments = json.loads(raw)
    except json.JSONDecodeError:
        arguments = None
    if not isinstance(arguments, dict):
        raise llm_errors.InvalidToolCallError(
            f"{PROVIDER}: tool call {call.function.name!r} has arguments that are not a JSON object: {raw!r}",
            tool_name=call.function.name,
            raw_arguments=raw,
            provider=PROVIDER,
            model=model,
        )
    return ToolCallBlock(id=call.id, name=call.function.name, input=arguments)
