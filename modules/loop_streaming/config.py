"""Configuration of the loop-streaming orchestrator, read from the mount plan."""

from dataclasses import dataclass
from typing import Any

UNLIMITED = -1


@dataclass(frozen=True)
class LoopConfig:
    """Tunables of the agent loop; see docs/modules/loop-streaming.md.

    Attributes:
        max_iterations: provider calls allowed per ``execute()`` before the loop asks the
            model for a final answer without tools (one extra call); -1 = unlimited.
        system_prompt: system message added to an empty-of-system context at the start of a
            turn; None adds nothing. An existing system message is always kept as it is.
        max_repeated_calls: how many times in a row the model may repeat exactly the same tool
            calls (names and arguments) before the turn ends with status ``repeated`` instead of
            running them again; 0 disables the check.
    """

    max_iterations: int = UNLIMITED
    system_prompt: str | None = None
    max_repeated_calls: int = 2

    def __post_init__(self) -> None:
        if self.max_iterations != UNLIMITED and self.max_iterations < 1:
            raise ValueError(f"max_iterations must be -1 (unlimited) or >= 1, got {self.max_iterations}")

    @property
    def limited(self) -> bool:
        """True when ``max_iterations`` caps the number of provider calls."""
        return self.max_iterations != UNLIMITED

    @classmethod
    def from_mount_config(cls, config: dict[str, Any] | None) -> "LoopConfig":
        """Build from a mount-plan ``config`` dict; unknown keys are ignored.

        Raises:
            ValueError: ``max_iterations`` is 0 or below -1.
        """
        config = config or {}
        return cls(
            max_iterations=int(config.get("max_iterations", UNLIMITED)),
            system_prompt=config.get("system_prompt") or None,
            max_repeated_calls=int(config.get("max_repeated_calls", 2)),
        )
