"""What the loop does with the HookResult an ``emit`` returns.

``hooks.emit`` merges the handlers' results into one HookResult (``deny`` wins). The
loop reads ``deny`` itself and hands the rest to the kernel's
``coordinator.process_hook_result``, which asks the approval system for ``ask_user``,
shows ``user_message`` and writes non-ephemeral ``inject_context`` injections straight
into the mounted context (tagged ``metadata.source = "hook"``). Ephemeral injections
come back from it and are kept here for the next provider request only.

Because the kernel writes injections at once, results of ``tool:pre``/``tool:post`` are
held back (except ``ask_user``, which must be answered before the tool runs) until the
whole tool batch's results are in the context: an injection between a tool call and
its results would break the call/result pairing providers require.

Without a coordinator (orchestrator called outside a session) only ``deny`` is honoured.
A result the kernel would hand back untouched (no ``inject_context``, no ``ask_user``, no
``user_message``: what nearly every hook returns) is not sent to it: each call is a tokio round
trip of about 0.17 ms of CPU (amplifier-core 2.0.2), several per model call.
"""

from typing import Any

from amplifier_core.models import ContextInjection, HookResult


class HookResultHandler:
    """Applies hook results for one ``execute()`` call.

    Args:
        coordinator: the session's coordinator (the kernel passes it as ``coordinator=``), or None.
    """

    def __init__(self, coordinator: Any | None):
        self._coordinator = coordinator
        self._held: list[tuple[int, HookResult, str, str]] = []
        self._ephemeral: list[ContextInjection] = []

    def start_turn(self) -> None:
        """Reset the kernel's per-turn injection count (``session.injection_budget_per_turn``).

        The Rust session never resets it itself (amplifier-core 2.0.2), so without this the
        budget would run across every turn of the session.
        """
        if self._coordinator is not None:
            self._coordinator.reset_turn()

    async def apply(self, result: HookResult, event: str, source: str) -> HookResult:
        """Process ``result`` of ``event`` now; ``source`` names the hook's subject (e.g. the tool).

        Returns:
            The processed result; its ``action`` is ``"deny"`` when the operation must not happen.
        """
        if self._coordinator is None or _inert(result):
            return result
        processed = await self._coordinator.process_hook_result(result, event, source)
        self._ephemeral += [injection for injection in processed.context_injections if injection.ephemeral]
        return processed

    async def gate_tool(self, result: HookResult, event: str, tool_name: str, position: int) -> HookResult:
        """Decide a tool hook's ``result`` now (deny, approval) and hold back the rest.

        Args:
            position: the call's index in its batch; held results are released in call order.
        """
        if result.action == "ask_user":
            return await self.apply(result, event, tool_name)
        if result.action != "deny":
            self._held.append((position, result, event, tool_name))
        return result

    async def release(self) -> None:
        """Process the held tool hook results in call order (per call: as they were held)."""
        held, self._held = sorted(self._held, key=lambda entry: entry[0]), []
        for _, result, event, tool_name in held:
            await self.apply(result, event, tool_name)

    def take_ephemeral(self) -> list[ContextInjection]:
        """The ephemeral injections for the next request; they are not returned again."""
        taken, self._ephemeral = self._ephemeral, []
        return taken


def _inert(result: HookResult) -> bool:
    """True when the kernel's ``process_hook_result`` would return ``result`` as it is: it acts on the
    ``inject_context`` and ``ask_user`` actions and on ``user_message`` only (amplifier-core 2.0.2)."""
    return result.action not in ("inject_context", "ask_user") and not result.user_message
