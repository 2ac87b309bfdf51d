"""A real (Rust-backed) AmplifierSession running loop-streaming + context-simple on the fake LLM.

Also holds the fake LLM's own tests: amplifier-core's provider contract and its script rules.
"""

import textwrap

import amplifier_core
import pytest
from amplifier_core import AmplifierSession, ChatRequest, Message
from amplifier_core.models import HookResult
from amplifier_core.validation.behavioral import ProviderBehaviorTests

import foreman.testing
from foreman.testing import (
    FunctionTool,
    ScriptedProvider,
    ScriptExhausted,
    call,
    last_tool_result,
    mount_scripted,
    session_plan,
)


class TestScriptedProviderContract(ProviderBehaviorTests):
    """amplifier-core's behavioural contract for providers, run on the fake LLM."""

    @pytest.fixture
    def provider_module(self) -> ScriptedProvider:
        return ScriptedProvider([])


@pytest.fixture
async def session():
    session = AmplifierSession(session_plan(orchestrator_config={"system_prompt": "You are a worker."}))
    await session.initialize()
    yield session
    await session.cleanup()


async def test_two_turn_tool_conversation_end_to_end(session):
    lookup = FunctionTool("lookup", lambda args: {"issue": args["id"], "status": "open"})
    provider = ScriptedProvider(
        [
            ["Let me check.", call("lookup", id="fm-1")],
            lambda request: f"Issue state: {last_tool_result(request)}",
            lambda request: f"You said: {request.messages[-1].content}",
        ]
    )
    await mount_scripted(session, provider, tools=[lookup])
    events = []

    async def record(event, data):
        events.append((event, data["session_id"]))
        return HookResult()

    for name in ("tool:pre", "tool:post", "execution:end"):
        session.coordinator.hooks.register(name, record)

    assert await session.execute("What state is fm-1 in?") == 'Issue state: {"issue": "fm-1", "status": "open"}'
    assert await session.execute("Thanks.") == "You said: Thanks."
    provider.assert_complete()

    assert lookup.calls == [{"id": "fm-1"}]
    roles = [m.role for m in provider.requests[-1].messages]
    assert roles == ["system", "user", "assistant", "tool", "assistant", "user"]
    assert [name for name, _ in events] == ["tool:pre", "tool:post", "execution:end", "execution:end"]
    assert {session_id for _, session_id in events} == {session.session_id}


async def test_the_mounting_recipe_in_the_module_doc_runs():
    recipe = textwrap.dedent(foreman.testing.__doc__.split("::\n", 1)[1].split("\n\n", 1)[0])
    namespace = {**vars(foreman.testing), "AmplifierSession": amplifier_core.AmplifierSession}
    exec("async def recipe():\n" + textwrap.indent(recipe, "    "), namespace)
    await namespace["recipe"]()


async def test_an_exhausted_script_fails_the_session_with_a_clear_error(session):
    await mount_scripted(session, ScriptedProvider([]))
    with pytest.raises(RuntimeError, match="ScriptExhausted: .* no scripted turn left for request #1"):
        await session.execute("hello")


async def test_max_iterations_from_the_mount_plan_is_honoured():
    provider = ScriptedProvider([call("noop"), "wrapped up"])
    async with AmplifierSession(session_plan(orchestrator_config={"max_iterations": 1})) as session:
        await mount_scripted(session, provider, tools=[FunctionTool("noop", lambda args: None)])
        assert await session.execute("loop forever") == "wrapped up"
    assert provider.requests[-1].tool_choice == "none"


def request(*contents: str) -> ChatRequest:
    return ChatRequest(messages=[Message(role="user", content=content) for content in contents])


async def test_script_turn_shapes_and_request_recording():
    async def async_turn(req):
        return f"{len(req.messages)} messages"

    provider = ScriptedProvider(["plain", [call("a"), call("b", x=1)], async_turn, ValueError("scripted failure")])
    plain = await provider.complete(request("one"))
    calls = await provider.complete(request("two"))
    counted = await provider.complete(request("three", "four"))
    with pytest.raises(ValueError, match="scripted failure"):
        await provider.complete(request("five"))

    assert plain.content[0].text == "plain" and plain.tool_calls is None
    parsed = [(c.id, c.name, c.arguments) for c in provider.parse_tool_calls(calls)]
    assert parsed == [("call_1", "a", {}), ("call_2", "b", {"x": 1})]
    assert counted.content[0].text == "2 messages"
    assert [len(r.messages) for r in provider.requests] == [1, 1, 2, 1]
    assert plain.usage.total_tokens == plain.usage.input_tokens + plain.usage.output_tokens > 0


async def test_assert_complete_lists_unused_turns():
    provider = ScriptedProvider(["used", "left over"])
    await provider.complete(request("hi"))
    with pytest.raises(AssertionError, match="1 scripted turn"):
        provider.assert_complete()
    await provider.complete(request("again"))
    provider.assert_complete()
    with pytest.raises(ScriptExhausted):
        await provider.complete(request("one too many"))
