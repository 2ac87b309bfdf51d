"""Compaction: a smaller request view of the history when it nears the token budget.

Compaction never changes the stored history; it returns a new list for one request.
It runs only when the estimated tokens (see tokens.py) exceed
``compact_threshold * budget`` and then goes through three phases, each stopping as
soon as its goal is met:

1. truncate older tool results (all but the newest ``protected_tool_results``) to
   ``truncate_chars`` characters, oldest first, until at most ``target_usage * budget``;
2. drop whole units (see units.py), oldest first, until at most ``target_usage * budget``,
   sparing the protected ones: system messages, the first and the last user message,
   the units that reach into the newest ``protected_recent`` fraction of messages, and
   the newest unit;
3. only while still over the full ``budget``: drop the spared units too, oldest first,
   except system messages, the last user message and the newest unit, which never go.
"""

import math
from dataclasses import dataclass
from typing import Any

from .config import ContextConfig
from .tokens import estimate_message_tokens
from .truncation import clip_chars, map_tool_text
from .units import group_units


@dataclass(frozen=True)
class CompactionReport:
    """What one compaction did; sent as the ``context:compaction`` event payload.

    Token figures are estimates (see tokens.py); ``budget`` is in the same unit.
    """

    budget: int
    tokens_before: int
    tokens_after: int
    messages_before: int
    messages_after: int
    truncated_tool_results: int
    removed_messages: int


def compact(
    messages: list[dict[str, Any]], tokens: list[int], budget: int, config: ContextConfig
) -> tuple[list[dict[str, Any]], CompactionReport | None]:
    """The request view of ``messages`` for a ``budget`` of estimated tokens; ``tokens`` holds each
    message's estimate (tokens.py), kept by the caller as messages arrive (a request re-estimates nothing).

    Returns:
        ``(view, report)``; ``messages`` itself and ``None`` when no compaction was needed.
        The view can stay over budget when the never-dropped messages alone exceed it.
    """
    view = _View(messages, tokens)
    if view.total <= config.compact_threshold * budget:
        return messages, None
    target = config.target_usage * budget
    view.truncate_tool_results(target, config)
    units = group_units(messages)
    pinned, spared = _protected_units(messages, units, config)
    view.drop_units([unit for number, unit in enumerate(units) if number not in pinned | spared], target)
    view.drop_units([unit for number, unit in enumerate(units) if number in spared - pinned], budget)
    return view.messages(), view.report(budget)


def _protected_units(
    messages: list[dict[str, Any]], units: list[list[int]], config: ContextConfig
) -> tuple[set[int], set[int]]:
    """Unit numbers never dropped (``pinned``) and dropped only over budget (``spared``)."""
    user_indices = [index for index, message in enumerate(messages) if message.get("role") == "user"]
    recent_from = len(messages) - math.ceil(config.protected_recent * len(messages))
    pinned, spared = {len(units) - 1}, set()
    for number, unit in enumerate(units):
        if any(messages[index].get("role") == "system" for index in unit):
            pinned.add(number)
        if user_indices and user_indices[-1] in unit:
            pinned.add(number)
        if unit[-1] >= recent_from or (user_indices and user_indices[0] in unit):
            spared.add(number)
    return pinned, spared


class _View:
    """The history being compacted: per-message token estimates and removals."""

    def __init__(self, messages: list[dict[str, Any]], tokens: list[int]):
        self._messages: list[dict[str, Any] | None] = list(messages)
        self._tokens = list(tokens)
        self._before = sum(self._tokens)
        self.total = self._before
        self._truncated = 0

    def truncate_tool_results(self, goal: float, config: ContextConfig) -> None:
        tool_indices = [i for i, message in enumerate(self._messages) if message and message.get("role") == "tool"]
        older = tool_indices[: max(0, len(tool_indices) - config.protected_tool_results)]
        for index in older:
            if self.total <= goal:
                return
            shorter = map_tool_text(self._messages[index], lambda text: clip_chars(text, config.truncate_chars))
            if shorter != self._messages[index]:
                self._replace(index, shorter)
                self._truncated += 1

    def drop_units(self, units: list[list[int]], goal: float) -> None:
        for unit in units:
            if self.total <= goal:
                return
            for index in unit:
                self.total -= self._tokens[index]
                self._messages[index] = None

    def messages(self) -> list[dict[str, Any]]:
        return [message for message in self._messages if message is not None]

    def report(self, budget: int) -> CompactionReport:
        kept = self.messages()
        return CompactionReport(
            budget=budget,
            tokens_before=self._before,
            tokens_after=self.total,
            messages_before=len(self._messages),
            messages_after=len(kept),
            truncated_tool_results=self._truncated,
            removed_messages=len(self._messages) - len(kept),
        )

    def _replace(self, index: int, message: dict[str, Any]) -> None:
        tokens = estimate_message_tokens(message)
        self.total += tokens - self._tokens[index]
        self._tokens[index] = tokens
        self._messages[index] = message
