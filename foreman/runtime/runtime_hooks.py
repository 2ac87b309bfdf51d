"""The runtime's own hook handlers of one session, behind a single kernel handler per event.

Each handler registered with amplifier-core 2.0.2's hook registry costs every emit of its event a
round trip through the kernel's tokio runtime and back to the event loop: about 0.3 ms of CPU. A
worker's session has several on the same events (``tool:post``: the recorder, the settled check,
in git the checkout watch), each event several times per model call. :class:`RuntimeHooks` registers
one kernel handler per event the first time a runtime handler asks for it and calls the runtime's
handlers from there, in the order they were registered.

The runtime's handlers answer ``continue`` or ``deny``; as in the kernel, a ``deny`` ends the
dispatch (the handlers after it do not run) and a handler that raises is logged and skipped. Any
other answer also ends the dispatch and is returned.

A :class:`RuntimeHooks` is also the session's ``hooks.in_process`` capability (see loop-streaming's
emitter): while its kernel handler is the only one of an event, our orchestrator calls
:meth:`RuntimeHooks.dispatch` itself, with the data shaped as the kernel shapes it, and the
event costs no kernel round trip. Other orchestrators, and any event a hook module also handles,
go through the kernel as before.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from amplifier_core.models import HookResult

Handler = Callable[[str, dict[str, Any]], Awaitable[HookResult]]
IN_PROCESS_CAPABILITY = "hooks.in_process"  #: the name loop-streaming's emitter looks for (its IN_PROCESS_CAPABILITY)
log = logging.getLogger(__name__)


class RuntimeHooks:
    """``register(event, handler, name=...)`` like the kernel's registry, one kernel handler per event.

    Args:
        registry: the session's hook registry (``coordinator.hooks``).
    """

    def __init__(self, registry: Any) -> None:
        self._registry = registry
        self._handlers: dict[str, list[tuple[str, Handler]]] = {}

    def register(self, event: str, handler: Handler, name: str) -> None:
        """Call ``handler(event, data)`` on every ``event`` of the session, after those registered before it."""
        if event not in self._handlers:
            self._handlers[event] = []
            self._registry.register(event, self.dispatch, name=self.kernel_handler(event))
        self._handlers[event].append((name, handler))

    @staticmethod
    def kernel_handler(event: str) -> str:
        """The name of the kernel handler :meth:`register` puts on ``event`` (the in-process capability's rule)."""
        return f"foreman-runtime-{event}"

    def list_handlers(self) -> dict[str, list[str]]:
        """The names of the runtime's handlers by event, in call order."""
        return {event: [name for name, _ in handlers] for event, handlers in self._handlers.items()}

    async def dispatch(self, event: str, data: dict[str, Any]) -> HookResult:
        """Run the runtime's handlers of ``event`` in order: the first non-``continue`` answer, else ``continue``."""
        for name, handler in self._handlers[event]:
            try:
                result = await handler(event, data)
            except Exception:  # the kernel's rule: a failing handler is logged and skipped
                log.exception("hook %s failed on %s", name, event)
                continue
            if result.action != "continue":
                return result
        return HookResult()
