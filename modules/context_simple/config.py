"""Configuration of the context-simple context manager, read from the mount plan."""

from dataclasses import dataclass
from typing import Any

DEFAULT_MAX_TOKENS = 200_000  # tokens (estimated, see tokens.py)
DEFAULT_COMPACT_THRESHOLD = 0.92  # fraction of the budget that triggers compaction
DEFAULT_TARGET_USAGE = 0.50  # fraction of the budget that compaction aims for
DEFAULT_PROTECTED_RECENT = 0.30  # fraction of the newest messages kept whole
DEFAULT_PROTECTED_TOOL_RESULTS = 5  # newest tool results never truncated by compaction
DEFAULT_TRUNCATE_CHARS = 250  # characters kept of an older tool result during compaction
DEFAULT_MAX_TOOL_RESULT_BYTES = 131_072  # UTF-8 bytes of a tool result admitted to history


@dataclass(frozen=True)
class ContextConfig:
    """Tunables of :class:`SimpleContextManager`; see docs/modules/context-simple.md.

    Attributes:
        max_tokens: budget in estimated tokens when neither ``token_budget`` nor the
            provider's context window is known; otherwise an upper cap on that window.
        compact_threshold: compaction starts when the estimate exceeds this fraction of the budget.
        target_usage: compaction removes content until the estimate is at most this fraction.
        protected_recent: fraction (0.0-1.0) of the newest messages that compaction keeps whole
            unless the view is still over the full budget after everything else went.
        protected_tool_results: the newest N tool results are never truncated by compaction.
        truncate_chars: characters an older tool result keeps when compaction truncates it.
        max_tool_result_bytes: a tool result's text is clipped to this many UTF-8 bytes on
            admission (history keeps only the clipped text).
    """

    max_tokens: int = DEFAULT_MAX_TOKENS
    compact_threshold: float = DEFAULT_COMPACT_THRESHOLD
    target_usage: float = DEFAULT_TARGET_USAGE
    protected_recent: float = DEFAULT_PROTECTED_RECENT
    protected_tool_results: int = DEFAULT_PROTECTED_TOOL_RESULTS
    truncate_chars: int = DEFAULT_TRUNCATE_CHARS
    max_tool_result_bytes: int = DEFAULT_MAX_TOOL_RESULT_BYTES

    def __post_init__(self) -> None:
        if self.max_tokens <= 0:
            raise ValueError(f"max_tokens must be > 0, got {self.max_tokens}")
        if not 0 < self.target_usage <= self.compact_threshold <= 1:
            raise ValueError(
                "need 0 < target_usage <= compact_threshold <= 1, got "
                f"target_usage={self.target_usage}, compact_threshold={self.compact_threshold}"
            )
        if not 0 <= self.protected_recent <= 1:
            raise ValueError(f"protected_recent must be in [0, 1], got {self.protected_recent}")
        if min(self.protected_tool_results, self.truncate_chars) < 0 or self.max_tool_result_bytes <= 0:
            raise ValueError("protected_tool_results, truncate_chars >= 0 and max_tool_result_bytes > 0 required")

    @classmethod
    def from_mount_config(cls, config: dict[str, Any] | None) -> "ContextConfig":
        """Build from a mount-plan ``config`` dict; unknown keys are ignored.

        Raises:
            ValueError: a value is out of range (see ``__post_init__``).
        """
        known = {key: value for key, value in (config or {}).items() if key in cls.__dataclass_fields__}
        return cls(**known)
