"""context-simple: amplifier-core's context contract, tool-result clipping and compaction."""


import amplifier_foreman_modules.context_simple
import pytest
from amplifier_core.events import CONTEXT_COMPACTION
from amplifier_core.testing import MockCoordinator
from amplifier_core.validation.behavioral import ContextBehaviorTests
from amplifier_foreman_modules.context_simple import ContextConfig, SimpleContextManager, mount
from amplifier_foreman_modules.context_simple.tokens import estimate_tokens
from amplifier_foreman_modules.context_simple.units import tool_call_ids
from hypothesis import given, settings
from hypothesis import strategies as st

from foreman.testing import ScriptedProvider

SYSTEM = {"role": "system", "content": "You are a worker."}


class TestContextSimpleContract(ContextBehaviorTests):
    """amplifier-core's behavioural contract for context managers."""

    # amplifier-core's plugin loads a module from its folder as a top-level package; ours live under
    # amplifier_foreman_modules (issue 9, item 3), so the fixture mounts through the package instead.
    @pytest.fixture
    async def context_module(self, coordinator):
        await mount(coordinator, {})
        return coordinator.mount_points["context"]


def tool_round(number: int, result_chars: int, calls: int = 1) -> list[dict]:
    """One assistant message asking for ``calls`` tool calls, then their results."""
    ids = [f"r{number}c{index}" for index in range(calls)]
    assistant = {
        "role": "assistant",
        "content": [{"type": "tool_call", "id": call_id, "name": "read", "input": {}} for call_id in ids],
        "tool_calls": [{"id": call_id, "tool": "read", "arguments": {}} for call_id in ids],
    }
    results = [
        {"role": "tool", "tool_call_id": call_id, "name": "read", "content": "x" * result_chars} for call_id in ids
    ]
    return [assistant, *results]


def conversation(rounds: int, result_chars: int = 2_000) -> list[dict]:
    messages = [SYSTEM, {"role": "user", "content": "Fix the bug."}]
    for number in range(rounds):
        messages += tool_round(number, result_chars, calls=1 + number % 3)
    return messages


def assert_pairs_intact(messages: list[dict]) -> None:
    """Every tool result directly follows the call that asked for it, and every call has its result."""
    pending: set[str] = set()
    for message in messages:
        if message["role"] == "tool":
            assert message["tool_call_id"] in pending, f"orphan tool result {message['tool_call_id']}"
            pending.discard(message["tool_call_id"])
        else:
            assert not pending, f"tool calls without results: {pending}"
            pending = tool_call_ids(message)
    assert not pending, f"tool calls without results: {pending}"


async def context_with(messages: list[dict], **config) -> SimpleContextManager:
    context = SimpleContextManager(ContextConfig(**config))
    await context.set_messages(messages)
    return context


async def test_mount_reads_config_and_rejects_bad_values():
    coordinator = MockCoordinator()
    await mount(coordinator, {"max_tokens": 1_000, "compact_threshold": 0.8, "unknown": 1})
    assert coordinator.get("context").config == ContextConfig(max_tokens=1_000, compact_threshold=0.8)
    with pytest.raises(ValueError, match="target_usage"):
        await mount(MockCoordinator(), {"target_usage": 0.95})


async def test_add_message_rejects_a_message_without_role():
    context = SimpleContextManager(ContextConfig())
    with pytest.raises(ValueError, match="role"):
        await context.add_message({"content": "no role"})


async def test_oversized_tool_result_is_clipped_on_admission_without_splitting_a_character():
    context = SimpleContextManager(ContextConfig(max_tool_result_bytes=10))
    await context.add_message({"role": "tool", "tool_call_id": "a", "content": "é" * 20})
    await context.add_message({"role": "tool", "tool_call_id": "b", "content": [{"type": "text", "text": "y" * 50}]})
    await context.add_message({"role": "user", "content": "z" * 50})
    first, second, user = await context.get_messages()
    assert first["content"].startswith("é" * 5 + "\n[... tool result clipped: 30 of 40 bytes removed]")
    assert second["content"][0]["text"].startswith("y" * 10 + "\n[... tool result clipped")
    assert user["content"] == "z" * 50


async def test_small_history_is_returned_whole():
    messages = conversation(rounds=3)
    context = await context_with(messages)
    assert await context.get_messages_for_request() == messages


async def test_compaction_keeps_system_prompt_pairs_and_the_task_and_never_changes_history():
    messages = conversation(rounds=40) + [{"role": "user", "content": "Now write the report."}]
    context = await context_with(messages, max_tokens=20_000)
    view = await context.get_messages_for_request()
    assert view[0] == SYSTEM
    assert view[1] == messages[1], "the first user prompt is spared while under budget"
    assert view[-1] == messages[-1]
    assert len(view) < len(messages)
    assert estimate_tokens(view) <= 0.5 * 20_000
    assert_pairs_intact(view)
    assert await context.get_messages() == messages


async def test_compaction_truncates_older_tool_results_before_dropping_messages():
    messages = conversation(rounds=12, result_chars=4_000)
    budget = estimate_tokens(messages) + 1_000  # over 92% of it, and truncation alone reaches 50%
    context = await context_with(messages, protected_tool_results=2, truncate_chars=100)
    view = await context.get_messages_for_request(token_budget=budget)
    assert len(view) == len(messages)
    tool_results = [message["content"] for message in view if message["role"] == "tool"]
    assert tool_results[-2:] == ["x" * 4_000] * 2
    assert "truncated by context compaction" in tool_results[0]


async def test_budget_comes_from_the_provider_window_capped_by_max_tokens():
    messages = conversation(rounds=10)
    tokens = estimate_tokens(messages)
    roomy = ScriptedProvider([], context_window=tokens * 3, max_output_tokens=tokens)
    tight = ScriptedProvider([], context_window=tokens, max_output_tokens=tokens // 2)
    context = await context_with(messages)
    assert await context.get_messages_for_request(provider=roomy) == messages
    assert len(await context.get_messages_for_request(provider=tight)) < len(messages)
    capped = await context_with(messages, max_tokens=tokens // 2)
    assert len(await capped.get_messages_for_request(provider=roomy)) < len(messages)


async def test_the_token_estimates_follow_the_history_through_add_clear_and_set():
    messages = conversation(rounds=20)
    context = SimpleContextManager(ContextConfig(max_tokens=5_000))
    for message in messages:
        await context.add_message(message)
    assert len(await context.get_messages_for_request()) < len(messages)
    await context.clear()
    await context.add_message(SYSTEM)
    assert await context.get_messages_for_request() == [SYSTEM]
    await context.set_messages(messages)
    view = await context.get_messages_for_request()
    assert len(view) < len(messages) and estimate_tokens(view) <= 5_000


async def test_compaction_is_reported_as_an_event():
    coordinator = MockCoordinator()
    reports = []

    async def record(event, data):
        reports.append(data)

    coordinator.hooks.register(CONTEXT_COMPACTION, record)
    await mount(coordinator, {"max_tokens": 5_000})
    context = coordinator.get("context")
    await context.set_messages(conversation(rounds=20))
    view = await context.get_messages_for_request()
    [report] = reports
    assert report["budget"] == 5_000
    assert report["messages_after"] == len(view)
    assert report["tokens_after"] == estimate_tokens(view) <= report["tokens_before"]


histories = st.lists(
    st.one_of(
        st.tuples(st.just("user"), st.integers(1, 3_000)),
        st.tuples(st.just("answer"), st.integers(1, 3_000)),
        st.tuples(st.just("tools"), st.integers(1, 4), st.integers(1, 6_000)),
        st.tuples(st.just("system"), st.integers(1, 500)),
    ),
    max_size=40,
)


def build(history: list[tuple]) -> list[dict]:
    messages = [SYSTEM]
    for number, entry in enumerate(history):
        kind, size = entry[0], entry[-1]
        if kind == "tools":
            messages += tool_round(number, size, calls=entry[1])
        else:
            role = {"user": "user", "answer": "assistant", "system": "system"}[kind]
            messages.append({"role": role, "content": f"{number}:" + "w" * size})
    return messages


@settings(max_examples=150, deadline=None)
@given(histories, st.integers(200, 30_000), st.floats(0.0, 1.0))
async def test_any_compaction_keeps_pairs_system_messages_and_the_last_prompt(history, budget, protected_recent):
    messages = build(history)
    context = await context_with(messages, protected_recent=protected_recent)
    view = await context.get_messages_for_request(token_budget=budget)
    assert_pairs_intact(view)
    assert [m for m in view if m["role"] == "system"] == [m for m in messages if m["role"] == "system"]
    users = [m for m in messages if m["role"] == "user"]
    if users:
        assert users[-1] in view
    assert view[-1]["role"] == messages[-1]["role"]
    kept_ids = [m.get("tool_call_id") for m in view if m["role"] == "tool"]
    assert kept_ids == [m["tool_call_id"] for m in messages if m.get("tool_call_id") in kept_ids]
