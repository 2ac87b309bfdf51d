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

An event heard only by one in-process dispatcher skips the kernel too. A session's runtime may
register, as capability :data:`IN_PROCESS_CAPABILITY`, an object with ``kernel_handler(event) ->
str`` (the name its kernel handler of ``event`` is registered under, when it has one) and
``async dispatch(event, data) -> HookResult`` (what that kernel handler runs). When the kernel
lists exactly that handler for an event, the emitter calls ``dispatch`` itself, with the
data as the kernel would give it (JSON-serialised with ``str`` for anything else, keys sorted,
``session_id``, ``parent_id`` and an ISO ``timestamp`` added), and answers as the kernel would:
the handler's ``deny`` (or other action) as returned, else ``continue`` carrying that data. A
second handler of the event, a hook module's, sends the event through the kernel again.
"""

import json
from datetime import UTC, datetime
from typing import Any

from amplifier_core.correlation import INTERIM_EVENTS, REQUEST_EVENTS, TERMINAL_EVENTS
from amplifier_core.models import HookResult

CORRELATED_EVENTS = REQUEST_EVENTS | TERMINAL_EVENTS | INTERIM_EVENTS
IN_PROCESS_CAPABILITY = "hooks.in_process"  #: a dispatcher the emitter may call without the kernel (see above)


class HookEmitter:
    """``emit(event, data) -> HookResult`` over a hook registry, skipping events nobody handles.

    Args:
        hooks: the hook registry (``emit``; ``list_handlers`` when it has one).
        coordinator: the session's coordinator, for its :data:`IN_PROCESS_CAPABILITY` and ids; None: no shortcut.
    """

    def __init__(self, hooks: Any, coordinator: Any | None = None):
        self._hooks = hooks
        self._list_handlers = getattr(hooks, "list_handlers", None)
        self._coordinator = coordinator
        capability = getattr(coordinator, "get_capability", None)
        self._in_process = capability(IN_PROCESS_CAPABILITY) if capability else None

    async def emit(self, event: str, data: dict[str, Any]) -> HookResult:
        """The registry's merged result for ``event``; ``continue`` with ``data`` when no handler listens."""
        listening = self._listening(event)
        if listening == []:
            return HookResult(data=data)
        if self._in_process is not None and listening == [self._in_process.kernel_handler(event)]:
            return await self._dispatch_in_process(event, data)
        return await self._hooks.emit(event, data)

    def _listening(self, event: str) -> list[str] | None:
        """The names of the registry's handlers of ``event`` (asked at every emit: handlers come and go);
        None when it cannot list them or the event must reach the kernel anyway (correlated)."""
        if self._list_handlers is None or event in CORRELATED_EVENTS:
            return None
        return list(self._list_handlers(event).get(event) or [])

    async def _dispatch_in_process(self, event: str, data: dict[str, Any]) -> HookResult:
        """The in-process dispatcher's answer to ``event``, given the data the kernel would give it."""
        ids = {"session_id": self._coordinator.session_id, "parent_id": self._coordinator.parent_id,
               "timestamp": datetime.now(UTC).isoformat()}
        payload = json.loads(json.dumps({**data, **ids}, default=str, sort_keys=True))
        result = await self._in_process.dispatch(event, payload)
        return result if result.action != "continue" else HookResult(data=payload)
