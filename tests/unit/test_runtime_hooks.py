"""RuntimeHooks: the runtime's handlers of a session share one kernel handler per event; on the real
kernel registry (amplifier-core's RustHookRegistry). While that handler is an event's only one, our
loop (loop-streaming) calls them itself, with the kernel's data."""

from __future__ import annotations

import asyncio

from amplifier_core.hooks import HookRegistry
from amplifier_core.models import HookResult

from foreman.runtime.plans import load_plan
from foreman.runtime.runtime_hooks import RuntimeHooks
from foreman.runtime.sessions import open_session
from foreman.testing import ScriptedProvider, call


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


async def _tool_events(workspace, kernel_handler: bool) -> list[tuple[str, asyncio.Task, dict]]:
    """The tool events a runtime handler of a coding-worker session saw while the fake LLM wrote a
    file, with the task each ran in; ``kernel_handler``: a hook module's handler listens too."""
    provider = ScriptedProvider([call("write_file", file_path="a.txt", content="hi"), "done"])
    session = await open_session(load_plan("coding-worker"), workspace=workspace, provider=provider)
    seen: list[tuple[str, asyncio.Task, dict]] = []

    async def record(event: str, data: dict) -> HookResult:
        seen.append((event, asyncio.current_task(), data))
        return HookResult()

    for event in ("tool:pre", "tool:post"):
        session.hooks.register(event, record, name="record")
        if kernel_handler:
            session.coordinator.hooks.register(event, lambda e, d: _continue(), name="hook-module")
    try:
        await session.execute("write a.txt")
    finally:
        await session.cleanup()
    return seen


async def _continue() -> HookResult:
    return HookResult()


def _comparable(data: dict) -> dict:
    """An event's data without what differs between two sessions and two emits."""
    return {k: v for k, v in data.items() if k not in {"session_id", "timestamp", "tool_call_id", "parallel_group_id"}}


async def test_our_loop_calls_the_only_runtime_handler_itself_with_the_data_the_kernel_would_give(tmp_path):
    (tmp_path / "direct").mkdir()
    (tmp_path / "kernel").mkdir()
    direct = await _tool_events(tmp_path / "direct", kernel_handler=False)
    through_kernel = await _tool_events(tmp_path / "kernel", kernel_handler=True)
    assert [e for e, _, _ in direct] == [e for e, _, _ in through_kernel] == ["tool:pre", "tool:post"]
    # called in the emitting task (pre and post alike), not in a task the kernel schedules per emit
    assert direct[0][1] is direct[1][1]
    assert through_kernel[0][1] is not through_kernel[1][1]
    for (_, _, mine), (_, _, kernels) in zip(direct, through_kernel, strict=True):
        assert _comparable(mine) == _comparable(kernels)
        assert set(mine) == set(kernels) and mine["parent_id"] is None
    assert direct[1][2]["result"]["success"] is True
