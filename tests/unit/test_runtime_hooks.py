"""RuntimeHooks: the runtime's handlers of a session share one kernel handler per event; on the real
kernel registry (amplifier-core's RustHookRegistry)."""

from __future__ import annotations

import asyncio

from amplifier_core.hooks import HookRegistry
from amplifier_core.models import HookResult

from foreman.runtime.runtime_hooks import RuntimeHooks


def emit(registry: HookRegistry, event: str, data: dict) -> HookResult:
    """``registry.emit`` on an event loop of its own (the kernel's emit needs a running loop)."""
    async def emitted() -> HookResult:
        return await registry.emit(event, data)
    return asyncio.run(emitted())


def test_handlers_of_one_event_share_one_kernel_handler_and_run_in_order():
    registry = HookRegistry()
    hooks = RuntimeHooks(registry)
    calls: list[tuple[str, str, dict]] = []

    def handler(name: str):
        async def handle(event: str, data: dict) -> HookResult:
            calls.append((name, event, data))
            return HookResult()
        return handle

    hooks.register("tool:post", handler("recorder"), name="recorder")
    hooks.register("tool:post", handler("settled"), name="settled")
    hooks.register("tool:pre", handler("guard"), name="guard")
    assert registry.list_handlers() == {"tool:post": ["foreman-runtime-tool:post"],
                                        "tool:pre": ["foreman-runtime-tool:pre"]}
    assert hooks.list_handlers() == {"tool:post": ["recorder", "settled"], "tool:pre": ["guard"]}

    result = emit(registry, "tool:post", {"tool_name": "write_file"})
    assert result.action == "continue"
    assert [(name, event, data["tool_name"]) for name, event, data in calls] == [
        ("recorder", "tool:post", "write_file"), ("settled", "tool:post", "write_file")]


def test_a_deny_ends_the_dispatch_and_a_failing_handler_is_skipped():
    registry = HookRegistry()
    hooks = RuntimeHooks(registry)
    ran: list[str] = []

    async def broken(event: str, data: dict) -> HookResult:
        ran.append("broken")
        raise RuntimeError("bug in a hook")

    async def deny(event: str, data: dict) -> HookResult:
        ran.append("deny")
        return HookResult(action="deny", reason="outside the workspace")

    async def never(event: str, data: dict) -> HookResult:
        ran.append("never")
        return HookResult()

    for name, handler in (("broken", broken), ("deny", deny), ("never", never)):
        hooks.register("tool:pre", handler, name=name)
    result = emit(registry, "tool:pre", {"tool_name": "bash"})
    assert (result.action, result.reason) == ("deny", "outside the workspace")
    assert ran == ["broken", "deny"]
