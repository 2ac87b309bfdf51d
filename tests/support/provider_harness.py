"""Mounting a provider module on a coordinator for tests, and recording its retry events."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

#: Retry delays (seconds) short enough for tests; Retry-After floors still apply.
FAST_RETRIES = {"min_retry_delay": 0.01, "max_retry_delay": 0.02}

Mount = Callable[[Any, dict[str, Any]], Awaitable[Callable[[], Awaitable[None]]]]


@contextlib.asynccontextmanager
async def mounting(
    coordinator: Any, mount: Mount, name: str, base: dict[str, Any]
) -> AsyncIterator[Callable[..., Awaitable[Any]]]:
    """Yield ``mounted(**overrides)``: mount with ``base`` + FAST_RETRIES + overrides, return the
    provider mounted as ``name``. Every mount's cleanup runs on exit."""
    cleanups = []

    async def mounted(**overrides: Any) -> Any:
        cleanups.append(await mount(coordinator, {**base, **FAST_RETRIES, **overrides}))
        return coordinator.get("providers")[name]

    try:
        yield mounted
    finally:
        for cleanup in cleanups:
            await cleanup()


def record_retries(coordinator: Any) -> list[dict[str, Any]]:
    """Register a hook on ``coordinator`` and return the list it fills with provider:retry payloads."""
    seen: list[dict[str, Any]] = []

    async def record(event: str, data: dict[str, Any]) -> None:
        seen.append(data)

    coordinator.hooks.register("provider:retry", record, name="test-retry-recorder")
    return seen
