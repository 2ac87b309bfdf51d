"""StreamingOrchestrator: the object loop-streaming mounts at ``orchestrator``."""

from typing import Any

from .config import LoopConfig
from .turn import Turn


class StreamingOrchestrator:
    """The agent loop: prompt, model call, tools in parallel, repeat until a final answer.

    Args:
        config: loop tunables (``max_iterations``, ``system_prompt``).
    """

    def __init__(self, config: LoopConfig):
        self.config = config

    async def execute(
        self, prompt: str, context: Any, providers: dict[str, Any], tools: dict[str, Any], hooks: Any, **kwargs: Any
    ) -> str:
        """Run one turn and return the final answer text.

        Args:
            prompt: the user's message.
            context: the ContextManager holding the conversation (messages are dicts).
            providers: mounted providers by name; the one with the lowest priority is used.
            tools: mounted tools by name.
            hooks: the hook registry events are emitted on.
            **kwargs: ``coordinator`` (passed by the kernel) enables cancellation and
                hook-result processing (approvals, context injections); other keys are ignored.

        Returns:
            The final answer; for a turn stopped early, a sentence saying why
            (denied by a hook, cancelled, or the wrap-up after ``max_iterations``).

        Raises:
            NoProviderError: no provider is mounted.
            Exception: the provider's own error, after a ``provider:error`` event.
        """
        turn = Turn(self.config, context, providers, tools, hooks, kwargs.get("coordinator"))
        return await turn.run(prompt)
