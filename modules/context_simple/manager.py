"""SimpleContextManager: in-memory history with a compacted request view."""

from dataclasses import asdict
from typing import Any

from amplifier_core.events import CONTEXT_COMPACTION

from .compaction import compact
from .config import ContextConfig
from .tokens import estimate_message_tokens
from .truncation import clip_bytes, map_tool_text


class SimpleContextManager:
    """In-memory conversation history implementing amplifier-core's ContextManager protocol.

    The stored history is the source of truth and only grows (``add_message``) or is
    replaced (``set_messages``, ``clear``); compaction works on a copy for each request
    (see compaction.py), so transcripts from ``get_messages`` are complete. The one
    change made on the way in: a tool result's text is clipped to
    ``config.max_tool_result_bytes``. Each message's token estimate is taken once, as it
    arrives (estimating the whole history for every request made a session quadratic).

    Messages are dicts in the shape loop-streaming stores (``role``, ``content`` and,
    for tool traffic, ``tool_calls`` / ``tool_call_id``); see docs/modules/context-simple.md.
    """

    def __init__(self, config: ContextConfig, hooks: Any = None):
        """
        Args:
            config: tunables (tokens are estimates, see tokens.py).
            hooks: the session's hook registry, for the ``context:compaction`` event; None emits nothing.
        """
        self.config = config
        self._hooks = hooks
        self._messages: list[dict[str, Any]] = []
        self._tokens: list[int] = []  # estimate_message_tokens of each stored message

    async def add_message(self, message: dict[str, Any]) -> None:
        """Append ``message`` to the history (tool results clipped, see the class doc).

        Raises:
            ValueError: ``message`` is not a dict with a string ``role``.
        """
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            raise ValueError(f"a context message must be a dict with a string 'role', got {message!r}")
        if message["role"] == "tool":
            message = map_tool_text(message, lambda text: clip_bytes(text, self.config.max_tool_result_bytes))
        self._messages.append(message)
        self._tokens.append(estimate_message_tokens(message))

    async def get_messages_for_request(
        self, token_budget: int | None = None, provider: Any | None = None
    ) -> list[dict[str, Any]]:
        """The messages for the next LLM request, compacted when near the budget.

        Args:
            token_budget: explicit budget in estimated tokens; wins over everything else.
            provider: the provider about to be called; when its ``get_info().defaults`` has
                ``context_window`` (tokens), the budget is that window minus
                ``max_output_tokens`` (default 0), capped at ``config.max_tokens``.

        Returns:
            A new list; the stored history is not changed.
        """
        budget = self._budget(token_budget, provider)
        view, report = compact(list(self._messages), self._tokens, budget, self.config)
        if report is not None and self._hooks is not None:
            await self._hooks.emit(CONTEXT_COMPACTION, asdict(report))
        return view

    async def get_messages(self) -> list[dict[str, Any]]:
        """The full, uncompacted history (a new list) for transcripts and resume."""
        return list(self._messages)

    async def set_messages(self, messages: list[dict[str, Any]]) -> None:
        """Replace the history with ``messages`` as given (session resume); no clipping."""
        self._messages = list(messages)
        self._tokens = [estimate_message_tokens(message) for message in self._messages]

    async def clear(self) -> None:
        """Forget every message."""
        self._messages, self._tokens = [], []

    def _budget(self, token_budget: int | None, provider: Any | None) -> int:
        if token_budget is not None:
            return token_budget
        defaults = provider.get_info().defaults if provider is not None else {}
        window = defaults.get("context_window")
        if not window:
            return self.config.max_tokens
        return min(self.config.max_tokens, window - defaults.get("max_output_tokens", 0))
