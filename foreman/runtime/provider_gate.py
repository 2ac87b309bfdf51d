"""Every model call of a session goes through its provider's gate: a concurrency cap, a shared
back-off after a rate limit, and a timeout (issue 12).

- **Concurrency cap.** At most ``max_concurrent_calls`` calls of one provider are in flight in a
  process (a provider entry's fleet-only key in the mount plan); the others queue. Sixteen workers on
  one rate-limited key wait their turn instead of hammering it, and the workers sharing the one
  embedded model queue here instead of inside it.
- **Shared back-off.** When any session's provider reports a 429 (its ``provider:retry`` event,
  amplifier-core's ``PROVIDER_RETRY``, carries ``status_code`` and the delay it will wait), every
  session of that provider in the process waits the same delay before its next call.
- **Timeout.** One call may take ``call_timeout`` seconds (default 120, seed 000), counted from the
  moment it got its turn, not while it queued; a call that takes longer raises amplifier-core's
  ``LLMTimeoutError``, which fails the session's turn.

Gates are per process (and event loop): with ``--processes`` each worker process has its own cap.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from typing import Any

from amplifier_core.llm_errors import LLMTimeoutError
from amplifier_core.models import HookResult

RATE_LIMITED = 429  # HTTP status of a rate limit (RFC 6585)
RATE_LIMIT_PAUSE = 1.0  # seconds every session of a provider waits after a 429 that names no delay


class ProviderGate:
    """The concurrency cap and back-off of one provider in this process.

    Args:
        max_concurrent: calls allowed in flight at once; None: no cap.
    """

    def __init__(self, max_concurrent: int | None) -> None:
        self.max_concurrent = max_concurrent
        self._slots = asyncio.Semaphore(max_concurrent) if max_concurrent else None
        self._resume_at = 0.0  # time.monotonic() before which no call starts

    def pause(self, seconds: float) -> None:
        """Hold every call that has not started yet for ``seconds`` from now (a 429's back-off)."""
        self._resume_at = max(self._resume_at, time.monotonic() + seconds)

    async def _wait_out_pause(self) -> None:
        while (left := self._resume_at - time.monotonic()) > 0:
            await asyncio.sleep(left)

    async def run(self, call: Any, timeout: float) -> Any:
        """Await ``call()`` (a coroutine factory) within the cap, after any pause, for at most ``timeout`` seconds.

        Raises:
            LLMTimeoutError: the call took longer than ``timeout`` seconds once it started.
        """
        await self._wait_out_pause()
        if self._slots is None:
            return await self._timed(call, timeout)
        async with self._slots:
            await self._wait_out_pause()
            return await self._timed(call, timeout)

    async def _timed(self, call: Any, timeout: float) -> Any:
        """``await call()`` in this task (``asyncio.timeout``: no task of its own per call, as ``wait_for`` makes)."""
        try:
            async with asyncio.timeout(timeout):
                return await call()
        except TimeoutError:
            raise LLMTimeoutError(f"the model call took longer than {timeout:g} s (call_timeout)",
                                  retryable=False) from None


_GATES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[str, int | None], ProviderGate]] = (
    weakref.WeakKeyDictionary())


def gate_for(key: str, max_concurrent: int | None) -> ProviderGate:
    """This process's gate of the provider ``key`` (its module id, e.g. ``provider-anthropic``).

    Entries naming the same module with different caps get separate gates. A gate belongs to the
    running event loop (an asyncio semaphore cannot serve two loops); a fleet runs in one.
    """
    gates = _GATES.setdefault(asyncio.get_running_loop(), {})
    return gates.setdefault((key, max_concurrent), ProviderGate(max_concurrent))


class GuardedProvider:
    """A mounted provider whose ``complete`` goes through a :class:`ProviderGate` with a timeout.

    Every other attribute (name, priority, ``get_info``, ``parse_tool_calls``, ...) is the wrapped
    provider's, so orchestrators see the same provider (amplifier-core's Provider protocol), except
    ``stream``: a gated provider answers through ``complete`` only.

    Args:
        provider: the provider the module mounted.
        gate: its process-wide gate.
        timeout: seconds one call may take once it started.
    """

    def __init__(self, provider: Any, gate: ProviderGate, timeout: float) -> None:
        self._provider, self.gate, self.timeout = provider, gate, timeout

    def __getattr__(self, name: str) -> Any:
        if name == "stream":  # a stream would bypass the gate; orchestrators fall back to complete()
            raise AttributeError(name)
        return getattr(self._provider, name)

    async def complete(self, request: Any, **kwargs: Any) -> Any:
        """The wrapped provider's answer to ``request``, within the gate (see :meth:`ProviderGate.run`)."""
        return await self.gate.run(lambda: self._provider.complete(request, **kwargs), self.timeout)


def back_off_on_rate_limit(gates: list[ProviderGate]):
    """A ``provider:retry`` hook: a 429 pauses ``gates`` (the session's providers) for the retry's delay."""
    async def on_retry(event: str, data: dict[str, Any]) -> HookResult:
        if data.get("status_code") == RATE_LIMITED:
            delay = max(float(data.get("delay") or 0.0), float(data.get("retry_after") or 0.0)) or RATE_LIMIT_PAUSE
            for gate in gates:
                gate.pause(delay)
        return HookResult()

    return on_retry


__all__ = ["GuardedProvider", "ProviderGate", "back_off_on_rate_limit", "gate_for"]
