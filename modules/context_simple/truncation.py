"""Shortening a tool result's text: on admission (bytes) and during compaction (characters).

Tool messages carry their text either as a string ``content`` or as a list of blocks
whose ``{"type": "text"}`` entries hold it; other blocks (images, ...) are left alone.
"""

from collections.abc import Callable
from typing import Any


def clip_bytes(text: str, max_bytes: int) -> str:
    """``text`` cut to at most ``max_bytes`` UTF-8 bytes plus a marker saying how much went.

    The cut never splits a character. Text within the limit is returned unchanged.
    """
    encoded = text.encode("utf-8", errors="replace")
    if len(encoded) <= max_bytes:
        return text
    kept = encoded[:max_bytes].decode("utf-8", errors="ignore")
    return f"{kept}\n[... tool result clipped: {len(encoded) - max_bytes} of {len(encoded)} bytes removed]"


def clip_chars(text: str, max_chars: int) -> str:
    """``text`` cut to ``max_chars`` characters plus a marker; unchanged if short enough."""
    if len(text) <= max_chars:
        return text
    return f"{text[:max_chars]}\n[... truncated by context compaction: {len(text) - max_chars} characters removed]"


def map_tool_text(message: dict[str, Any], clip: Callable[[str], str]) -> dict[str, Any]:
    """A copy of a tool ``message`` with ``clip`` applied to each piece of its text."""
    content = message.get("content")
    if isinstance(content, str):
        return {**message, "content": clip(content)}
    if isinstance(content, list):
        return {**message, "content": [_clip_block(block, clip) for block in content]}
    return message


def _clip_block(block: Any, clip: Callable[[str], str]) -> Any:
    if isinstance(block, dict) and block.get("type") == "text" and isinstance(block.get("text"), str):
        return {**block, "text": clip(block["text"])}
    return block
