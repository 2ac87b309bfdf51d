"""loop-streaming: amplifier-core's orchestrator contract and the agent loop's behaviour.

The model is always the fake LLM from foreman.testing (ScriptedProvider); the kernel
parts (coordinator, hook registry, cancellation token) are amplifier-core's real ones.
"""

import asyncio
import json
from decimal import Decimal
from types import SimpleNamespace

import amplifier_foreman_modules.loop_streaming
import pytest
from amplifier_core.events import ALL_EVENTS
from amplifier_core.models import HookResult, ToolResult
from amplifier_core.testing import EventRecorder, MockContextManager, MockCoordinator
from amplifier_core.validation.behavioral import OrchestratorBehaviorTests
from amplifier_foreman_modules.context_simple import mount as mount_context
from amplifier_foreman_modules.loop_streaming import NoProviderError
from amplifier_foreman_modules.loop_streaming import mount as mount_loop
from amplifier_foreman_modules.loop_streaming.config import LoopConfig
from amplifier_foreman_modules.loop_streaming.emitter import HookEmitter
from amplifier_foreman_modules.loop_streaming.turn import CANCELLED_ANSWER, REPEATED_ANSWER, WRAP_UP_REMINDER, Turn

from foreman.testing import FunctionTool, ScriptedProvider, StreamingScriptedProvider, call, last_tool_result

TIMEOUT = 5.0  # seconds; a wait that hangs this long means the behaviour under test is broken


class TestLoopStreamingContract(OrchestratorBehaviorTests):
    """amplifier-core's behavioural contract for orchestrators."""

    # amplifier-core's plugin loads a module from its folder as a top-level package; ours live under
    # amplifier_foreman_modules (issue 9, item 3), so the fixture mounts through the package instead.
    @pytest.fixture
    async def orchestrator_module(self, coordinator):
        await mount_loop(coordinator, {})
        return coordinator.mount_points["orchestrator"]


class Loop:
    """The orchestrator mounted on a real kernel coordinator, with context-simple and a fake LLM."""

    def __init__(self, coordinator: MockCoordinator, provider: ScriptedProvider):
        self.coordinator = coordinator
        self.provider = provider
        self.events: list[tuple[str, dict]] = []

    @classmethod
    async def build(cls, provider: ScriptedProvider, tools=(), **config) -> "Loop":
        coordinator = MockCoordinator()
        await mount_loop(coordinator, config)
        await mount_context(coordinator, {})
        await coordinator.mount("providers", provider, name=provider.name)
        for tool in tools:
            await coordinator.mount("tools", tool, name=tool.name)
        loop = cls(coordinator, provider)
        for event in ALL_EVENTS:
            coordinator.hooks.register(event, loop._record, priority=-100, name=f"recorder-{event}")
        return loop

    async def _record(self, event: str, data: dict) -> HookResult:
        self.events.append((event, data))
        return HookResult()

    async def run(self, prompt: str = "Do the task.", hooks=None) -> str:
        coordinator = self.coordinator
        return await coordinator.get("orchestrator").execute(
            prompt,
            context=coordinator.get("context"),
            providers=coordinator.get("providers"),
            tools=coordinator.get("tools"),
            hooks=hooks or coordinator.hooks,
            coordinator=coordinator,
        )

    async def history(self) -> list[dict]:
        return await self.coordinator.get("context").get_messages()

    def named(self, event: str) -> list[dict]:
        return [data for name, data in self.events if name == event]

    def on(self, event: str, handler) -> None:
        self.coordinator.hooks.register(event, handler, name=f"test-{event}-{len(self.events)}")


def adder() -> FunctionTool:
    return FunctionTool("add", lambda args: args["a"] + args["b"])


async def test_two_turn_tool_conversation_returns_the_final_answer():
    script = [call("add", a=1, b=2), lambda request: f"sum is {last_tool_result(request)}"]
    loop = await Loop.build(ScriptedProvider(script), [adder()])
    assert await loop.run("Add 1 and 2.") == "sum is 3"
    loop.provider.assert_complete()
    user, assistant, result, final = await loop.history()
    assert user == {"role": "user", "content": "Add 1 and 2."}
    assert assistant["tool_calls"] == [{"id": "call_1", "tool": "add", "arguments": {"a": 1, "b": 2}}]
    assert result == {"role": "tool", "tool_call_id": "call_1", "name": "add", "content": "3"}
    assert final["content"] == [{"type": "text", "text": "sum is 3"}]
    assert [spec.name for spec in loop.provider.requests[0].tools] == ["add"]


async def test_parallel_tools_run_concurrently_and_results_keep_call_order():
    fast_done = asyncio.Event()
    finished = []

    async def slow(args):
        await asyncio.wait_for(fast_done.wait(), TIMEOUT)  # only returns if "fast" ran meanwhile
        finished.append("slow")
        return "slow result"

    async def fast(args):
        finished.append("fast")
        fast_done.set()
        return "fast result"

    tools = [FunctionTool("slow", slow), FunctionTool("fast", fast)]
    loop = await Loop.build(ScriptedProvider([[call("slow"), call("fast")], "done"]), tools)
    assert await loop.run() == "done"
    assert finished == ["fast", "slow"]
    results = [m for m in await loop.history() if m["role"] == "tool"]
    assert [(m["tool_call_id"], m["content"]) for m in results] == [
        ("call_1", "slow result"),
        ("call_2", "fast result"),
    ]


async def test_max_iterations_asks_for_a_final_answer_with_tool_choice_none():
    script = [call("add", a=1, b=1), call("add", a=2, b=2), "Summary: added twice."]
    loop = await Loop.build(ScriptedProvider(script), [adder()], max_iterations=2)
    assert await loop.run() == "Summary: added twice."
    wrap_up = loop.provider.requests[-1]
    assert len(loop.provider.requests) == 3
    assert (wrap_up.tool_choice, [spec.name for spec in wrap_up.tools]) == ("none", ["add"])
    assert wrap_up.messages[-1].content == WRAP_UP_REMINDER
    assert WRAP_UP_REMINDER not in json.dumps(await loop.history())
    assert loop.named("orchestrator:complete")[-1]["status"] == "max_iterations"


async def test_tool_calls_in_the_wrap_up_answer_are_not_stored():
    script = [call("add", a=1, b=1), call("add", a=2, b=2)]
    loop = await Loop.build(ScriptedProvider(script), [adder()], max_iterations=1)
    answer = await loop.run()
    assert answer == "Stopped after 1 model calls (max_iterations) without a final answer."
    last = (await loop.history())[-1]
    assert last == {"role": "assistant", "content": answer}


async def test_graceful_cancellation_finishes_the_tool_round_then_stops():
    loop = await Loop.build(ScriptedProvider([call("work"), "never asked for"]))

    async def work(args):
        await loop.coordinator.request_cancel(immediate=False)
        return "partial work"

    await loop.coordinator.mount("tools", FunctionTool("work", work), name="work")
    assert await loop.run() == CANCELLED_ANSWER
    assert len(loop.provider.requests) == 1
    assert (await loop.history())[-1]["content"] == "partial work"
    assert loop.named("execution:end")[-1]["status"] == "cancelled"


async def test_immediate_cancellation_stops_reading_a_stream():
    loop = await Loop.build(StreamingScriptedProvider(["one two three four"]))
    deltas = []

    async def cancel_on_first_delta(event, data):
        deltas.append(data["delta"])
        await loop.coordinator.request_cancel(immediate=True)
        return HookResult()

    loop.on("content_block:delta", cancel_on_first_delta)
    assert await loop.run() == CANCELLED_ANSWER
    assert deltas == ["one "]
    assert [m["role"] for m in await loop.history()] == ["user"]


async def test_a_cancelled_session_makes_no_provider_call():
    loop = await Loop.build(ScriptedProvider(["unused"]))
    await loop.coordinator.request_cancel()
    assert await loop.run() == CANCELLED_ANSWER
    assert loop.provider.requests == []


async def test_tool_pre_deny_skips_the_tool_and_tells_the_model_why():
    remove = FunctionTool("rm", lambda args: "removed")
    loop = await Loop.build(ScriptedProvider([call("rm", path="/"), lambda r: last_tool_result(r)]), [remove])

    async def deny_rm(event, data):
        return HookResult(action="deny", reason="rm is not allowed") if data["tool_name"] == "rm" else HookResult()

    loop.on("tool:pre", deny_rm)
    assert await loop.run() == "Error: Denied by hook: rm is not allowed"
    assert remove.calls == []
    [post] = loop.named("tool:post")
    assert post["result"]["success"] is False


async def test_prompt_submit_deny_stops_before_the_model_is_called():
    loop = await Loop.build(ScriptedProvider(["unused"]))

    async def deny(event, data):
        return HookResult(action="deny", reason="quota reached")

    loop.on("prompt:submit", deny)
    assert await loop.run() == "Prompt denied: quota reached"
    assert loop.provider.requests == []


async def test_injections_from_tool_hooks_land_after_the_whole_tool_round():
    loop = await Loop.build(ScriptedProvider([[call("add", a=1, b=1), call("add", a=2, b=2)], "done"]), [adder()])

    async def lint(event, data):
        return HookResult(action="inject_context", context_injection=f"checked {data['tool_call_id']}")

    loop.on("tool:post", lint)
    await loop.run()
    history = await loop.history()
    assert [m["role"] for m in history] == ["user", "assistant", "tool", "tool", "system", "system", "assistant"]
    assert [m["content"] for m in history[4:6]] == ["checked call_1", "checked call_2"]
    assert "checked call_2" in json.dumps([m.model_dump() for m in loop.provider.requests[1].messages])


async def test_the_kernel_injection_budget_counts_per_turn():
    loop = await Loop.build(ScriptedProvider(["a", "b"]))

    async def inject(event, data):
        return HookResult(action="inject_context", context_injection="note " * 20)

    loop.on("provider:request", inject)
    await loop.run("first")
    one_turn = loop.coordinator._current_turn_injections
    await loop.run("second")
    assert loop.coordinator._current_turn_injections == one_turn > 0


async def test_ephemeral_injection_reaches_one_request_and_is_not_stored():
    loop = await Loop.build(ScriptedProvider([call("add", a=1, b=1), "done"]), [adder()])

    async def remind(event, data):
        return HookResult(action="inject_context", context_injection=f"reminder {data['iteration']}", ephemeral=True)

    loop.on("provider:request", remind)
    await loop.run()
    first, second = loop.provider.requests
    assert first.messages[-1].content == "reminder 1"
    assert second.messages[-1].content == "reminder 2"
    assert [m.content for m in second.messages].count("reminder 1") == 0
    assert "reminder" not in json.dumps(await loop.history())


class ListingRecorder(EventRecorder):
    """An EventRecorder that, like the kernel's registry, lists its handlers: one for each of ``heard``."""

    def __init__(self, heard: set[str]):
        super().__init__()
        self.heard = heard

    def list_handlers(self, event: str | None = None) -> dict[str, list[str]]:
        return {event: ["handler"] if event in self.heard else []}


async def test_only_events_someone_listens_to_reach_the_registry_and_correlated_ones_always_do():
    recorder = ListingRecorder({"tool:post"})
    loop = await Loop.build(ScriptedProvider([call("add", a=1, b=2), "sum is 3"]), [adder()])
    assert await loop.run(hooks=recorder) == "sum is 3"
    assert [name for name, _ in recorder.events] == ["tool:post"]

    unheard = HookEmitter(ListingRecorder(set()))
    result = await unheard.emit("tool:pre", {"tool_name": "add"})
    assert (result.action, result.data) == ("continue", {"tool_name": "add"})
    await unheard.emit("llm:request", {"provider": "p"})  # the kernel keeps this call's request id
    assert [name for name, _ in unheard._hooks.events] == ["llm:request"]


class InProcess:
    """A fake runtime dispatcher (the ``hooks.in_process`` capability): its kernel handler is ``runtime-<event>``."""

    def __init__(self, answer: HookResult):
        self.answer, self.calls = answer, []

    def kernel_handler(self, event: str) -> str:
        return f"runtime-{event}"

    async def dispatch(self, event: str, data: dict) -> HookResult:
        self.calls.append((event, data))
        return self.answer


class Listing(EventRecorder):
    """An EventRecorder listing, for every event, the runtime's handler (``runtime-<event>``) and ``others``."""

    def __init__(self, others: list[str] = ()):
        super().__init__()
        self.others = list(others)

    def list_handlers(self, event: str | None = None) -> dict[str, list[str]]:
        return {event: [f"runtime-{event}", *self.others]}


def _coordinator(dispatcher: InProcess) -> SimpleNamespace:
    """What the emitter reads of a session's coordinator: its capabilities and ids."""
    capabilities = {"hooks.in_process": dispatcher}
    return SimpleNamespace(get_capability=capabilities.get, session_id="s-1", parent_id=None)


async def test_an_event_only_the_in_process_dispatcher_hears_is_dispatched_without_the_registry():
    denying = InProcess(HookResult(action="deny", reason="outside the workspace"))
    registry = Listing()
    emitter = HookEmitter(registry, _coordinator(denying))
    result = await emitter.emit("tool:pre", {"tool_name": "bash", "n": Decimal("1.5")})
    assert (result.action, result.reason) == ("deny", "outside the workspace") and registry.events == []
    [(event, data)] = denying.calls
    assert event == "tool:pre" and data["n"] == "1.5" and data["session_id"] == "s-1" and "timestamp" in data

    passing = InProcess(HookResult())
    result = await HookEmitter(registry, _coordinator(passing)).emit("tool:post", {"tool_name": "bash"})
    assert result.action == "continue" and result.data == passing.calls[0][1]

    shared = Listing(["hook-module"])  # a second handler: the registry gets the event
    await HookEmitter(shared, _coordinator(passing)).emit("tool:pre", {"tool_name": "bash"})
    assert [name for name, _ in shared.events] == ["tool:pre"] and len(passing.calls) == 1


async def test_a_handler_registered_during_the_turn_gets_the_events_after_it():
    loop = await Loop.build(ScriptedProvider([call("add", a=1, b=1), "done"]), [adder()])
    late: list[str] = []

    async def note(event, data):
        late.append(event)
        return HookResult()

    async def register_late(event, data):
        loop.coordinator.hooks.register("tool:pre", note, name="late")
        return HookResult()

    for event in ALL_EVENTS:
        loop.coordinator.hooks.unregister(f"recorder-{event}")
    loop.on("provider:response", register_late)
    await loop.run()
    assert late == ["tool:pre"]


async def test_only_results_the_kernel_acts_on_go_to_it():
    loop = await Loop.build(ScriptedProvider([call("add", a=1, b=1), "done"]), [adder()])
    processed = []
    kernel_process = loop.coordinator.process_hook_result

    async def counted(result, event, hook_name="unknown"):
        processed.append(event)
        return await kernel_process(result, event, hook_name)

    async def lint(event, data):
        return HookResult(action="inject_context", context_injection="checked")

    loop.coordinator.process_hook_result = counted
    loop.on("tool:post", lint)
    await loop.run()
    assert processed == ["tool:post"], "plain continue results (prompt:submit, provider:request, tool:pre) skip it"
    assert "checked" in [m["content"] for m in await loop.history()]


async def test_the_calls_of_one_batch_share_a_group_id_and_batches_differ():
    loop = await Loop.build(ScriptedProvider([[call("add", a=1, b=1), call("add", a=2, b=2)], call("add", a=3, b=3),
                                              "done"]), [adder()])
    await loop.run()
    groups = [e["parallel_group_id"] for e in loop.named("tool:pre")]
    assert groups[0] == groups[1] != groups[2]
    assert all(len(g) == 32 and int(g, 16) >= 0 for g in groups)


async def test_tool_failures_and_unknown_tools_come_back_to_the_model_as_results():
    def explode(args):
        raise OSError("disk on fire")

    def refuse(args):
        return ToolResult(success=False, error={"message": "no access"})

    tools = [FunctionTool("explode", explode), FunctionTool("refuse", refuse)]
    script = [[call("explode"), call("refuse"), call("nosuch")], "recovered"]
    loop = await Loop.build(ScriptedProvider(script), tools)
    assert await loop.run() == "recovered"
    results = [m.content for m in loop.provider.requests[1].messages if m.role == "tool"]
    assert results == [
        "Error: Tool 'explode' raised OSError: disk on fire",
        "Error: no access",
        "Error: Unknown tool 'nosuch'. Available tools: explode, refuse",
    ]
    assert sorted(e["error"]["type"] for e in loop.named("tool:error")) == ["OSError", "UnknownTool"]
    assert len(loop.named("tool:post")) == 3


async def test_provider_error_is_reported_and_raised():
    loop = await Loop.build(ScriptedProvider([ConnectionError("upstream down")]))
    with pytest.raises(ConnectionError, match="upstream down"):
        await loop.run()
    [error] = loop.named("provider:error")
    assert error["error"] == {"type": "ConnectionError", "message": "upstream down"}
    assert loop.named("execution:end")[-1]["status"] == "error"
    assert loop.named("orchestrator:complete")[-1]["status"] == "error"


async def test_event_payloads_are_json_and_tell_what_the_agent_did():
    recorder = EventRecorder()
    provider = ScriptedProvider([call("add", a=1, b=2), "sum is 3"], cost_per_call=Decimal("0.25"))
    loop = await Loop.build(provider, [adder()])
    await loop.run(hooks=recorder)
    for _, data in recorder.events:
        json.dumps(data)  # raises on anything JSON cannot hold
    names = [name for name, _ in recorder.events]
    assert names == [
        "execution:start", "prompt:submit",
        "provider:request", "provider:response", "tool:pre", "tool:post",
        "provider:request", "provider:response",
        "prompt:complete", "orchestrator:complete", "execution:end",
    ]  # fmt: skip
    first_response = recorder.get_events("provider:response")[0][1]
    assert first_response["usage"]["cost_usd"] == 0.25
    assert first_response["usage"]["input_tokens"] > 0
    assert first_response["tool_calls"] == [{"id": "call_1", "name": "add", "arguments": {"a": 1, "b": 2}}]
    pre = recorder.get_events("tool:pre")[0][1]
    post = recorder.get_events("tool:post")[0][1]
    assert (pre["tool_name"], pre["tool_call_id"], pre["arguments"]) == ("add", "call_1", {"a": 1, "b": 2})
    assert post["result"] == {"success": True, "output": 3, "error": None}
    assert recorder.get_events("execution:end")[0][1] == {"response": "sum is 3", "status": "success"}


async def test_the_provider_with_the_lowest_priority_answers():
    loop = await Loop.build(ScriptedProvider(["from second"], name="second", priority=5))
    preferred = ScriptedProvider(["from first"], name="first", priority=1)
    await loop.coordinator.mount("providers", preferred, name="first")
    assert await loop.run() == "from first"


async def test_a_streaming_provider_is_streamed_and_deltas_are_events():
    loop = await Loop.build(StreamingScriptedProvider(["hello streaming world"]))
    assert await loop.run() == "hello streaming world"
    assert "".join(e["delta"] for e in loop.named("content_block:delta")) == "hello streaming world"


async def test_configured_system_prompt_goes_first_once_and_an_existing_one_is_kept():
    loop = await Loop.build(ScriptedProvider(["a", "b"]), system_prompt="You are a worker.")
    await loop.run("first")
    await loop.run("second")
    history = await loop.history()
    system = {"role": "system", "content": "You are a worker."}
    assert [m for m in history if m["role"] == "system"] == [history[0]] == [system]

    kept = await Loop.build(ScriptedProvider(["c"]), system_prompt="ignored")
    await kept.coordinator.get("context").add_message({"role": "system", "content": "from the plan"})
    await kept.run()
    assert [m["content"] for m in await kept.history() if m["role"] == "system"] == ["from the plan"]


async def test_without_a_provider_the_turn_fails_clearly():
    coordinator = MockCoordinator()
    await mount_loop(coordinator, {})
    await mount_context(coordinator, {})
    with pytest.raises(NoProviderError, match="no provider is mounted"):
        await coordinator.get("orchestrator").execute("hi", coordinator.get("context"), {}, {}, EventRecorder())


async def test_bad_max_iterations_is_refused_at_mount():
    with pytest.raises(ValueError, match="max_iterations"):
        await mount_loop(MockCoordinator(), {"max_iterations": 0})


async def test_repeating_the_same_tool_call_ends_the_turn_without_running_it_again():
    """A model that asks for the identical call a third time in a row is stopped (max_repeated_calls=2)."""
    runs = []
    tool = FunctionTool("note", lambda args: runs.append(args) or "noted")
    provider = ScriptedProvider([call("note", text="same")] * 3 + ["never reached"])
    context = MockContextManager()
    coordinator = MockCoordinator()
    turn = Turn(LoopConfig(max_repeated_calls=2), context, {"p": provider}, {"note": tool}, coordinator.hooks, coordinator)

    answer = await turn.run("go")

    assert answer == REPEATED_ANSWER
    assert len(runs) == 2, "the third identical call is not run"
    last = (await context.get_messages())[-1]
    assert last["role"] == "tool" and last["content"].startswith("Error: Not run")
