"""Messages API ``Message`` -> amplifier-core ``ChatResponse``.

Streaming and non-streaming calls both end in the SDK's ``Message`` (the stream's
``get_final_message()`` accumulates the events into one), so one conversion serves both and the
ChatResponse is the same either way.

Rules: ``text`` -> TextBlock, ``tool_use`` -> ToolCallBlock and a ToolCall, ``thinking`` /
``redacted_thinking`` -> ThinkingBlock / RedactedThinkingBlock (kept, with signature, so they can
be sent back); server-tool blocks are not mapped. ``stop_reason`` becomes ``finish_reason``.
Usage: ``input_tokens`` counts every prompt token (the API's uncached ``input_tokens`` plus cache
reads and cache writes, comparable with OpenAI's ``prompt_tokens``); ``cache_read_tokens`` and
``cache_write_tokens`` break it down; ``cost_usd`` comes from ``pricing``.
"""

from __future__ import annotations

from typing import Any

from amplifier_core.message_models import (
    ChatResponse,
    RedactedThinkingBlock,
    TextBlock,
    ThinkingBlock,
    ToolCall,
    ToolCallBlock,
    Usage,
)

from .pricing import cost_usd


def chat_response(message: Any) -> ChatResponse:
    """The ChatResponse for an ``anthropic.types.Message``."""
    blocks = [converted for block in message.content if (converted := _block(block)) is not None]
    calls = [ToolCall(id=b.id, name=b.name, arguments=b.input) for b in blocks if b.type == "tool_call"]
    return ChatResponse(
        content=blocks,
        tool_calls=calls or None,
        usage=usage(message.model, message.usage),
        finish_reason=message.stop_reason,
        metadata={"model": message.model, "response_id": message.id},
    )


def usage(model: str, counts: Any) -> Usage:
    """Usage (tokens, USD) from a Messages API ``usage`` object for ``model``."""
    fresh = counts.input_tokens
    read = counts.cache_read_input_tokens or 0
    write = counts.cache_creation_input_tokens or 0
    prompt = fresh + read + write
    return Usage(
        input_tokens=prompt,
        output_tokens=counts.output_tokens,
        total_tokens=prompt + counts.output_tokens,
        cache_read_tokens=read,
        cache_write_tokens=write,
        cost_usd=cost_usd(
            model, fresh_input=fresh, output=counts.output_tokens, cache_read=read, cache_write=write
        ),
    )


def _block(block: Any) -> Any:
    if block.type == "text":
        return TextBlock(text=block.text)
    if block.type == "tool_use":
        return ToolCallBlock(id=block.id, name=block.name, input=block.input)
    if block.type == "thinking":
        return ThinkingBlock(thinking=block.thinking, signature=block.signature)
    if block.type == "redacted_thinking":
        return RedactedThinkingBlock(data=block.data)
    return None
