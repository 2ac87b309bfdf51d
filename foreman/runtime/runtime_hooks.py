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
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from amplifier_core.models import HookResult

Handler = Callable[[str, dict[str, Any]], Awaitable[HookResult]]
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
            self._registry.register(event, self._dispatch, name=f"foreman-runtime-{event}")
        self._handlers[event].append((name, handler))

    def list_handlers(self) -> dict[str, list[str]]:
        """The names of the runtime's handlers by event, in call order."""
        return {event: [name for name, _ in handlers] for event, handlers in self._handlers.items()}

    async def _dispatch(self, event: str, data: dict[str, Any]) -> HookResult:
        for name, handler in self._handlers[event]:
            try:
                result = await handler(event, data)
            except Exception:  # the kernel's rule: a failing handler is logged and skipped
                log.exception("hook %s failed on %s", name, event)
                continue
            if result.action != "continue":
                return result
        return HookResult()
