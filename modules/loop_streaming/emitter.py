"""Emitting the loop's events: an event no handler listens to is answered without the kernel.

amplifier-core 2.0.2's ``RustHookRegistry.emit`` costs about 0.3 ms of CPU even when no handler
is registered for the event (the data goes through ``json.dumps``, a tokio task, ``json.loads``
and a HookResult validation, and comes back through the event loop's self-pipe). The loop emits
six or more events per model call (one per streamed text delta, too), several of which nobody
handles in a typical session. With no handler the kernel answers ``continue`` carrying the
event's data, and so does :meth:`HookEmitter.emit`, without the trip. A registry that cannot
list its handlers (a test's ``EventRecorder``) gets every event, and so do the events the kernel
correlates (``llm:request`` and its terminal events, see ``amplifier_core.correlation``): their
request ids live in the kernel's context variables.
"""

from typing import Any

from amplifier_core.correlation import INTERIM_EVENTS, REQUEST_EVENTS, TERMINAL_EVENTS
from amplifier_core.models import HookResult

CORRELATED_EVENTS = REQUEST_EVENTS | TERMINAL_EVENTS | INTERIM_EVENTS


class HookEmitter:
    """``emit(event, data) -> HookResult`` over a hook registry, skipping events nobody handles.

    Args:
        hooks: the hook registry (``emit``; ``list_handlers`` when it has one).
    """

    def __init__(self, hooks: Any):
        self._hooks = hooks
        self._list_handlers = getattr(hooks, "list_handlers", None)

    async def emit(self, event: str, data: dict[str, Any]) -> HookResult:
        """The registry's merged result for ``event``; ``continue`` with ``data`` when no handler listens."""
        if self._unheard(event):
            return HookResult(data=data)
        return await self._hooks.emit(event, data)

    def _unheard(self, event: str) -> bool:
        """True when the registry lists no handler for ``event`` (asked at every emit: handlers come and go)."""
        if self._list_handlers is None or event in CORRELATED_EVENTS:
            return False
        return not self._list_handlers(event).get(event)
