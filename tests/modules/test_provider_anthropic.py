"""provider-anthropic against a loopback Messages API server, through the real anthropic SDK.

Also covers the machinery provider-openai shares with it (``wire_errors``, ``retries``,
``settings``): Retry-After parsing, the retry floor and the retry limit are tested here once.
"""

from __future__ import annotations

from decimal import Decimal

import anthropic
import pytest
from amplifier_core import llm_errors
from amplifier_core.message_models import ChatRequest, Message, TextBlock, ToolCallBlock, ToolResultBlock, ToolSpec
from amplifier_core.validation.behavioral import ProviderBehaviorTests
from amplifier_module_provider_anthropic import mount
from amplifier_module_provider_anthropic.wire_errors import parse_retry_after

from tests.support.loopback import HOLD_LIMIT, DropConnection, Stall
from tests.support.provider_harness import mounting, record_retries
from tests.support.messages_server import MessagesServer, api_error, message, text, tool_use, usage

READ_FILE = ToolSpec(name="read_file", description="Read a file", parameters={"type": "object", "properties": {"path": {"type": "string"}}})
LIST_DIR = ToolSpec(name="list_dir", parameters={"type": "object"})


@pytest.fixture
def server():
    with MessagesServer() as running:
        yield running


@pytest.fixture
async def mount_provider(coordinator, server, monkeypatch):
    """Factory: mount provider-anthropic aimed at ``server``, with config overrides."""
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_BASE_URL", raising=False)
    async with mounting(coordinator, mount, "anthropic", {"api_key": "test-key", "base_url": server.base_url}) as mounted:
        yield mounted


@pytest.fixture
def retry_events(coordinator):
    return record_retries(coordinator)


def ask(*messages: Message, tools=(READ_FILE, LIST_DIR), **fields) -> ChatRequest:
    conversation = [Message(role="system", content="You are terse."), *messages]
    return ChatRequest(messages=conversation, tools=list(tools), **fields)


USER = Message(role="user", content="What is in a.txt?")


class TestAnthropicProviderContract(ProviderBehaviorTests):
    """amplifier-core's provider contract, mounted with a key and the loopback base_url."""

    @pytest.fixture
    async def provider_module(self, mount_provider):
        return await mount_provider()


@pytest.mark.parametrize("stream", [False, True])
async def test_tool_use_round_trip(mount_provider, server, stream):
    provider = await mount_provider(stream=stream)
    server.script(
        message(text("Reading it."), tool_use("toolu_1", "read_file", {"path": "a.txt"})),
        message(text("It says hello.")),
    )

    first = await provider.complete(ask(USER))
    calls = provider.parse_tool_calls(first)
    assert [(c.id, c.name, c.arguments) for c in calls] == [("toolu_1", "read_file", {"path": "a.txt"})]
    assert first.finish_reason == "tool_use"

    assistant = Message(role="assistant", content=first.content)
    result = Message(role="tool", tool_call_id="toolu_1", content="hello")
    second = await provider.complete(ask(USER, assistant, result))

    assert second.content == [TextBlock(text="It says hello.")]
    assert provider.parse_tool_calls(second) == []
    sent = server.requests[1].body
    assert sent.get("stream", False) is stream
    assert sent["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "What is in a.txt?"}]},
        {"role": "assistant", "content": [
            {"type": "text", "text": "Reading it."},
            {"type": "tool_use", "id": "toolu_1", "name": "read_file", "input": {"path": "a.txt"}},
        ]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "hello"}]},
    ]


async def test_parallel_tool_results_share_one_user_turn(mount_provider, server):
    provider = await mount_provider()
    server.script(message(text("ok")))
    calls = Message(role="assistant", content=[
        ToolCallBlock(id="t1", name="read_file", input={"path": "a"}),
        ToolCallBlock(id="t2", name="list_dir", input={}),
    ])
    results = [
        Message(role="tool", tool_call_id="t1", content="A"),
        Message(role="user", content=[ToolResultBlock(tool_call_id="t2", output={"files": ["b"]})]),
        Message(role="user", content="Summarise."),
    ]

    await provider.complete(ask(USER, calls, *results))

    last_turn = server.requests[0].body["messages"][-1]
    assert last_turn == {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "t1", "content": "A"},
        {"type": "tool_result", "tool_use_id": "t2", "content": '{"files": ["b"]}'},
        {"type": "text", "text": "Summarise."},
    ]}


async def test_streaming_and_json_give_the_same_response(mount_provider, server):
    provider = await mount_provider(stream=False)
    reply = message(
        text("Let me look at that file for you."),
        tool_use("toolu_9", "read_file", {"path": "docs/notes.md", "lines": [1, 20]}),
        counts=usage(input_tokens=120, output_tokens=48, cache_read=900, cache_write=60),
    )
    server.script(reply, reply)

    as_json = await provider.complete(ask(USER))
    as_stream = await provider.complete(ask(USER, stream=True))

    assert [r.body.get("stream") for r in server.requests] == [None, True]
    assert as_stream == as_json
    assert as_json.usage.output_tokens == 48


async def test_usage_counts_cache_tokens_and_cost(mount_provider, server):
    provider = await mount_provider()
    server.script(message(text("hi"), counts=usage(input_tokens=1000, output_tokens=300, cache_read=2000, cache_write=500)))

    response = await provider.complete(ask(USER, model="claude-haiku-4-5-20251001"))

    counts = response.usage
    assert (counts.input_tokens, counts.output_tokens, counts.total_tokens) == (3500, 300, 3800)
    assert (counts.cache_read_tokens, counts.cache_write_tokens) == (2000, 500)
    # Haiku 4.5: $1 in, $5 out, $0.10 cache read, $1.25 cache write per million tokens.
    assert counts.cost_usd == Decimal("0.003325")


async def test_unknown_model_has_no_cost(mount_provider, server):
    provider = await mount_provider(default_model="claude-next-unreleased")
    server.script(message(text("hi")))

    response = await provider.complete(ask(USER))

    assert response.usage.cost_usd is None
    assert response.metadata["model"] == "claude-next-unreleased"


async def test_prompt_caching_marks_the_stable_prefix(mount_provider, server):
    provider = await mount_provider()
    server.script(message(text("hi")))

    await provider.complete(ask(USER))

    sent = server.requests[0].body
    assert sent["system"] == [{"type": "text", "text": "You are terse.", "cache_control": {"type": "ephemeral"}}]
    assert [t.get("cache_control") for t in sent["tools"]] == [None, {"type": "ephemeral"}]
    assert sent["tools"][0] == {"name": "read_file", "description": "Read a file", "input_schema": READ_FILE.parameters}


async def test_prompt_caching_can_be_disabled(mount_provider, server):
    provider = await mount_provider(enable_prompt_caching=False)
    server.script(message(text("hi")))

    await provider.complete(ask(USER))

    sent = server.requests[0].body
    assert "cache_control" not in str(sent)


async def test_request_settings_reach_the_wire(mount_provider, server):
    provider = await mount_provider(default_model="claude-haiku-4-5", max_tokens=256, temperature=0.2)
    server.script(message(text("a")), message(text("b")))

    await provider.complete(ask(USER, stop=["END"]))
    await provider.complete(ask(USER, model="claude-sonnet-4-6", max_output_tokens=64, temperature=0.9))

    first, second = (r.body for r in server.requests)
    assert (first["model"], first["max_tokens"], first["temperature"], first["stop_sequences"]) == (
        "claude-haiku-4-5", 256, 0.2, ["END"],
    )
    assert (second["model"], second["max_tokens"], second["temperature"]) == ("claude-sonnet-4-6", 64, 0.9)
    assert server.requests[0].headers["authorization"] == "Bearer test-key"


ERROR_CASES = [
    (api_error(400, "prompt is too long: 210000 tokens > 200000 maximum"), llm_errors.ContextLengthError, False),
    (api_error(400, "messages: roles must alternate"), llm_errors.InvalidRequestError, False),
    (api_error(401, "invalid x-api-key"), llm_errors.AuthenticationError, False),
    (api_error(403, "no access to this model"), llm_errors.AccessDeniedError, False),
    (api_error(404, "model: claude-nope"), llm_errors.NotFoundError, False),
    (api_error(413, "request exceeds the maximum size"), llm_errors.ContextLengthError, False),
    (api_error(429, "Number of requests exceeded", retry_after=7), llm_errors.RateLimitError, True),
    (api_error(500, "Internal server error"), llm_errors.ProviderUnavailableError, True),
    (api_error(529, "Overloaded"), llm_errors.ProviderUnavailableError, True),
]


@pytest.mark.parametrize(("reply", "expected", "retryable"), ERROR_CASES, ids=lambda case: getattr(case, "status", None))
async def test_error_statuses_map_to_llm_errors(mount_provider, server, reply, expected, retryable):
    provider = await mount_provider(max_retries=0)
    server.script(reply)

    with pytest.raises(llm_errors.LLMError) as caught:
        await provider.complete(ask(USER))

    error = caught.value
    assert type(error) is expected
    assert (error.status_code, error.retryable, error.provider, error.model) == (
        reply.status, retryable, "anthropic", "claude-sonnet-4-6",
    )
    assert isinstance(error.__cause__, anthropic.APIStatusError)
    assert error.retry_after == (7.0 if reply.status == 429 else None)


async def test_timeout_maps_to_llm_timeout_error(mount_provider, server):
    provider = await mount_provider(max_retries=0, timeout=0.2)
    server.script(Stall(HOLD_LIMIT, message(text("too late"))))

    with pytest.raises(llm_errors.LLMTimeoutError) as caught:
        await provider.complete(ask(USER))

    assert caught.value.retryable


@pytest.mark.parametrize(("stream", "expected"), [(False, llm_errors.NetworkError), (True, llm_errors.StreamError)])
async def test_dropped_connection_maps_to_a_retryable_error(mount_provider, server, stream, expected):
    provider = await mount_provider(max_retries=0, stream=stream)
    server.script(DropConnection(message(text("This answer is cut off half way."), tool_use("t", "list_dir", {})), keep=4))

    with pytest.raises(expected) as caught:
        await provider.complete(ask(USER))

    assert caught.value.retryable


async def test_retry_after_is_honoured(mount_provider, server, retry_events):
    provider = await mount_provider(max_retries=2)
    server.script(api_error(429, retry_after=1), message(text("finally")))

    response = await provider.complete(ask(USER))

    assert response.content == [TextBlock(text="finally")]
    first, second = server.requests
    assert second.received_at - first.received_at >= 1.0
    assert len(retry_events) == 1
    event = retry_events[0]
    assert (event["attempt"], event["max_retries"], event["retry_after"], event["status_code"]) == (1, 2, 1.0, 429)
    assert (event["provider"], event["model"], event["error_type"]) == ("anthropic", "claude-sonnet-4-6", "RateLimitError")
    assert event["delay"] >= 1.0


async def test_retries_stop_after_max_retries(mount_provider, server, retry_events):
    provider = await mount_provider(max_retries=2)
    server.script(*[api_error(500)] * 3, message(text("never reached")))

    with pytest.raises(llm_errors.ProviderUnavailableError):
        await provider.complete(ask(USER))

    assert len(server.requests) == 3
    assert [e["attempt"] for e in retry_events] == [1, 2]


async def test_transient_failures_are_retried_until_success(mount_provider, server):
    provider = await mount_provider(max_retries=3, timeout=0.5, stream=True)
    reply = message(text("made it"))
    server.script(api_error(529), DropConnection(reply, keep=3), Stall(HOLD_LIMIT, reply), reply)

    response = await provider.complete(ask(USER))

    assert response.content == [TextBlock(text="made it")]
    assert len(server.requests) == 4


async def test_non_retryable_errors_are_not_retried(mount_provider, server, retry_events):
    provider = await mount_provider(max_retries=3)
    server.script(api_error(401), message(text("never reached")))

    with pytest.raises(llm_errors.AuthenticationError):
        await provider.complete(ask(USER))

    assert len(server.requests) == 1
    assert retry_events == []


async def test_missing_api_key_fails_at_mount(coordinator, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)

    with pytest.raises(llm_errors.ConfigurationError, match="ANTHROPIC_API_KEY"):
        await mount(coordinator, {})

    assert coordinator.get("providers") == {}


async def test_key_and_base_url_come_from_the_environment(coordinator, server, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "env-key")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", server.base_url)
    cleanup = await mount(coordinator, {})
    server.script(message(text("hi")))

    await coordinator.get("providers")["anthropic"].complete(ask(USER))
    await cleanup()

    assert server.requests[0].headers["authorization"] == "Bearer env-key"


async def test_badly_typed_config_fails_at_mount(coordinator):
    with pytest.raises(llm_errors.ConfigurationError, match="timeout"):
        await mount(coordinator, {"api_key": "k", "timeout": "soon"})


async def test_list_models_reads_the_model_list(mount_provider):
    provider = await mount_provider()

    models = await provider.list_models()

    sonnet = models[0]
    assert (sonnet.id, sonnet.context_window, sonnet.max_output_tokens) == ("claude-sonnet-4-6", 200_000, 64_000)
    assert (sonnet.pricing.input_per_million, sonnet.pricing.output_per_million) == (3.0, 15.0)


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"retry-after": "3"}, 3.0),
        ({"retry-after": "0.5"}, 0.5),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
        ({"retry-after": "Wed, 21 Oct 2015 07:28:30 GMT"}, 30.0),
        ({"retry-after": "-4"}, 0.0),
        ({"retry-after": "soon"}, None),
        ({}, None),
    ],
)
def test_parse_retry_after(headers, seconds):
    now = 1445412480.0  # Wed, 21 Oct 2015 07:28:00 GMT

    assert parse_retry_after(headers, now=now) == seconds
