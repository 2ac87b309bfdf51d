"""Grouping a message history into units that compaction keeps or drops whole.

A unit is either one message, or an assistant message that asks for tool calls together
with the tool results that answer those calls and directly follow it. Dropping whole
units is what guarantees that compaction never leaves a tool result without its call,
nor a call without its results (providers reject both).

Tool calls are recognised in the two shapes loop-streaming stores: ``tool_calls``
entries (``{"id": ..., "tool": ..., "arguments": ...}``) and ``{"type": "tool_call"}``
content blocks. A tool result is a ``{"role": "tool", "tool_call_id": ...}`` message.
"""

from typing import Any


def tool_call_ids(message: dict[str, Any]) -> set[str]:
    """Ids of the tool calls an assistant ``message`` makes (empty for other messages)."""
    if message.get("role") != "assistant":
        return set()
    entries = list(message.get("tool_calls") or [])
    content = message.get("content")
    if isinstance(content, list):
        entries += [block for block in content if isinstance(block, dict) and block.get("type") == "tool_call"]
    return {entry["id"] for entry in entries if isinstance(entry, dict) and isinstance(entry.get("id"), str)}


def group_units(messages: list[dict[str, Any]]) -> list[list[int]]:
    """Indices of ``messages`` grouped into units, in history order.

    Returns:
        A list of units; each unit is a non-empty list of consecutive indices, and
        every index of ``messages`` appears in exactly one unit.
    """
    units: list[list[int]] = []
    index = 0
    while index < len(messages):
        unit = [index]
        call_ids = tool_call_ids(messages[index])
        index += 1
        while index < len(messages) and _answers(messages[index], call_ids):
            unit.append(index)
            index += 1
        units.append(unit)
    return units


def _answers(message: dict[str, Any], call_ids: set[str]) -> bool:
    return message.get("role") == "tool" and message.get("tool_call_id") in call_ids
