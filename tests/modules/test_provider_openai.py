"""provider-openai against a loopback Chat Completions server, through the real openai SDK.

The retry machinery it shares with provider-anthropic is tested in depth there; here each
shared piece is shown to be wired in (error mapping with OpenAI's bodies, Retry-After, events).
"""

from __future__ import annotations

import asyncio

import openai
import pytest
from amplifier_core import llm_errors
from amplifier_core.message_models import ChatRequest, Message, TextBlock, ToolCallBlock, ToolResultBlock, ToolSpec
from amplifier_core.validation.behavioral import ProviderBehaviorTests
from amplifier_module_provider_openai import PLACEHOLDER_API_KEY, mount

from tests.support.chat_completions_server import ChatCompletionsServer, api_error, completion, tool_call, usage
from tests.support.loopback import HOLD_LIMIT, AwaitInFlight, DropConnection, Stall
from tests.support.provider_harness import mounting, record_retries

READ_FILE = ToolSpec(name="read_file", description="Read a file", parameters={"type": "object", "properties": {"path": {"type": "string"}}})
USER = Message(role="user", content="What is in a.txt?")
MODEL = "qwen2.5-coder:7b"


@pytest.fixture
def server():
    with ChatCompletionsServer() as running:
        yield running


@pytest.fixture
async def mount_provider(coordinator, server, monkeypatch):
    """Factory: mount provider-openai aimed at ``server`` (no key: a local server), with overrides."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    async with mounting(coordinator, mount, "openai", {"base_url": server.api_url, "default_model": MODEL}) as mounted:
        yield mounted


@pytest.fixture
def retry_events(coordinator):
    return record_retries(coordinator)


def ask(*messages: Message, **fields) -> ChatRequest:
    conversation = [Message(role="system", content="You are terse."), *messages]
    return ChatRequest(messages=conversation, tools=[READ_FILE], **fields)


class TestOpenAIProviderContract(ProviderBehaviorTests):
    """amplifier-core's provider contract, mounted with the loopback base_url."""

    @pytest.fixture
    async def provider_module(self, mount_provider):
        return await mount_provider()


@pytest.mark.parametrize("stream", [False, True])
async def test_tool_call_round_trip(mount_provider, server, stream):
    provider = await mount_provider(stream=stream)
    server.script(
        completion("Reading it.", tool_call("call_1", "read_file", {"path": "a.txt"})),
        completion("It says hello."),
    )

    first = await provider.complete(ask(USER))
    calls = provider.parse_tool_calls(first)
    assert [(c.id, c.name, c.arguments) for c in calls] == [("call_1", "read_file", {"path": "a.txt"})]
    assert first.finish_reason == "tool_calls"

    assistant = Message(role="assistant", content=first.content)
    result = Message(role="tool", tool_call_id="call_1", content="hello")
    second = await provider.complete(ask(USER, assistant, result))

    assert second.content == [TextBlock(text="It says hello.")]
    sent = server.requests[1].body
    assert sent.get("stream", False) is stream
    assert sent["messages"] == [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "What is in a.txt?"},
        {"role": "assistant", "content": "Reading it.", "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "read_file", "arguments": '{"path": "a.txt"}'}},
        ]},
        {"role": "tool", "tool_call_id": "call_1", "content": "hello"},
    ]
    assert sent["tools"] == [{"type": "function", "function": {
        "name": "read_file", "description": "Read a file", "parameters": READ_FILE.parameters,
    }}]


async def test_tool_result_blocks_become_tool_messages(mount_provider, server):
    provider = await mount_provider()
    server.script(completion("ok"))
    calls = Message(role="assistant", content=[
        ToolCallBlock(id="c1", name="read_file", input={"path": "a"}),
        ToolCallBlock(id="c2", name="read_file", input={"path": "b"}),
    ])
    results = Message(role="user", content=[
        ToolResultBlock(tool_call_id="c1", output="A"),
        ToolResultBlock(tool_call_id="c2", output={"lines": 2}),
        TextBlock(text="Compare them."),
    ])

    await provider.complete(ask(USER, calls, results))

    assert server.requests[0].body["messages"][-4:] == [
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "read_file", "arguments": '{"path": "a"}'}},
            {"id": "c2", "type": "function", "function": {"name": "read_file", "arguments": '{"path": "b"}'}},
        ]},
        {"role": "tool", "tool_call_id": "c1", "content": "A"},
        {"role": "tool", "tool_call_id": "c2", "content": '{"lines": 2}'},
        {"role": "user", "content": "Compare them."},
    ]


async def test_streaming_and_json_give_the_same_response(mount_provider, server):
    provider = await mount_provider()
    reply = completion(
        "Let me look at both files.",
        tool_call("call_1", "read_file", {"path": "docs/notes.md"}),
        tool_call("call_2", "read_file", {"path": "README.md", "lines": [1, 20]}),
        counts=usage(prompt=150, completion_tokens=40, cached=100),
    )
    server.script(reply, reply)

    as_json = await provider.complete(ask(USER))
    as_stream = await provider.complete(ask(USER, stream=True))

    assert server.requests[1].body["stream_options"] == {"include_usage": True}
    assert as_stream == as_json
    assert len(as_json.tool_calls) == 2


async def test_usage_is_reported_without_a_cost(mount_provider, server):
    provider = await mount_provider()
    server.script(completion("hi", counts=usage(prompt=1200, completion_tokens=80, cached=1024)))

    counts = (await provider.complete(ask(USER))).usage

    assert (counts.input_tokens, counts.output_tokens, counts.total_tokens) == (1200, 80, 1280)
    assert counts.cache_read_tokens == 1024
    assert counts.cost_usd is None


async def test_request_settings_reach_the_wire(mount_provider, server):
    provider = await mount_provider(max_tokens=256, temperature=0.2, api_key="sk-test")
    server.script(completion("a"), completion("b"))

    await provider.complete(ask(USER, stop=["END"]))
    await provider.complete(ask(USER, model="llama3.1:8b", max_output_tokens=64, temperature=0.9))

    first, second = (r.body for r in server.requests)
    assert (first["model"], first["max_tokens"], first["temperature"], first["stop"]) == (MODEL, 256, 0.2, ["END"])
    assert (second["model"], second["max_tokens"], second["temperature"]) == ("llama3.1:8b", 64, 0.9)
    assert server.requests[0].headers["authorization"] == "Bearer sk-test"


ERROR_CASES = [
    (api_error(400, "This model's maximum context length is 8192 tokens", code="context_length_exceeded"), llm_errors.ContextLengthError, False),
    (api_error(400, "the request exceeds the available context size, try increasing it"), llm_errors.ContextLengthError, False),
    (api_error(400, "'messages' is a required property"), llm_errors.InvalidRequestError, False),
    (api_error(401, "Incorrect API key provided"), llm_errors.AuthenticationError, False),
    (api_error(403, "not allowed"), llm_errors.AccessDeniedError, False),
    (api_error(404, "The model 'nope' does not exist"), llm_errors.NotFoundError, False),
    (api_error(429, "Rate limit reached for requests", retry_after=7), llm_errors.RateLimitError, True),
    (api_error(429, "You exceeded your current quota", code="insufficient_quota"), llm_errors.QuotaExceededError, False),
    (api_error(500, "The server had an error"), llm_errors.ProviderUnavailableError, True),
    (api_error(503, "The engine is currently overloaded"), llm_errors.ProviderUnavailableError, True),
]


@pytest.mark.parametrize(("reply", "expected", "retryable"), ERROR_CASES, ids=lambda case: getattr(case, "status", None))
async def test_error_statuses_map_to_llm_errors(mount_provider, server, reply, expected, retryable):
    provider = await mount_provider(max_retries=0)
    server.script(reply)

    with pytest.raises(llm_errors.LLMError) as caught:
        await provider.complete(ask(USER))

    error = caught.value
    assert type(error) is expected
    assert (error.status_code, error.retryable, error.provider, error.model) == (reply.status, retryable, "openai", MODEL)
    assert isinstance(error.__cause__, openai.APIStatusError)
    assert error.retry_after == (7.0 if "retry-after" in reply.headers else None)


async def test_timeout_maps_to_llm_timeout_error(mount_provider, server):
    provider = await mount_provider(max_retries=0, timeout=0.2)
    server.script(Stall(HOLD_LIMIT, completion("too late")))

    with pytest.raises(llm_errors.LLMTimeoutError):
        await provider.complete(ask(USER))


@pytest.mark.parametrize(("stream", "expected"), [(False, llm_errors.NetworkError), (True, llm_errors.StreamError)])
async def test_dropped_connection_maps_to_a_retryable_error(mount_provider, server, stream, expected):
    provider = await mount_provider(max_retries=0, stream=stream)
    server.script(DropConnection(completion("This answer is cut off half way.", tool_call("c", "read_file", {})), keep=3))

    with pytest.raises(expected) as caught:
        await provider.complete(ask(USER))

    assert caught.value.retryable


async def test_retry_after_is_honoured(mount_provider, server, retry_events):
    provider = await mount_provider(max_retries=1)
    server.script(api_error(429, retry_after=1), completion("finally"))

    response = await provider.complete(ask(USER))

    assert response.content == [TextBlock(text="finally")]
    first, second = server.requests
    assert second.received_at - first.received_at >= 1.0
    assert [(e["provider"], e["model"], e["attempt"], e["retry_after"]) for e in retry_events] == [("openai", MODEL, 1, 1.0)]


async def test_retries_stop_after_max_retries(mount_provider, server):
    provider = await mount_provider(max_retries=1)
    server.script(api_error(503), DropConnection(completion("cut")), completion("never reached"))

    with pytest.raises(llm_errors.NetworkError):
        await provider.complete(ask(USER))

    assert len(server.requests) == 2


@pytest.mark.parametrize(("limit", "peak"), [(2, 2), (None, 4)])
async def test_max_concurrent_requests_caps_requests_in_flight(mount_provider, server, limit, peak):
    provider = await mount_provider(max_concurrent_requests=limit)
    server.script(*[AwaitInFlight(peak, completion(f"answer {n}")) for n in range(4)])

    responses = await asyncio.gather(*[provider.complete(ask(USER)) for _ in range(4)])

    assert len(responses) == 4
    assert server.max_in_flight == peak


async def test_malformed_tool_arguments_raise_invalid_tool_call(mount_provider, server):
    provider = await mount_provider()
    server.script(completion(None, tool_call("call_1", "read_file", '{"path": "a.txt"')))

    with pytest.raises(llm_errors.InvalidToolCallError) as caught:
        await provider.complete(ask(USER))

    assert (caught.value.tool_name, caught.value.raw_arguments) == ("read_file", '{"path": "a.txt"')


async def test_local_server_needs_no_key(mount_provider, server):
    provider = await mount_provider()
    server.script(completion("hi"))

    await provider.complete(ask(USER))

    assert server.requests[0].headers["authorization"] == f"Bearer {PLACEHOLDER_API_KEY}"


async def test_missing_key_without_base_url_fails_at_mount(coordinator, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)

    with pytest.raises(llm_errors.ConfigurationError, match="OPENAI_API_KEY"):
        await mount(coordinator, {})


async def test_key_and_base_url_come_from_the_environment(coordinator, server, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "env-key")
    monkeypatch.setenv("OPENAI_BASE_URL", server.api_url)
    cleanup = await mount(coordinator, {"default_model": MODEL})
    server.script(completion("hi"))

    await coordinator.get("providers")["openai"].complete(ask(USER))
    await cleanup()

    assert server.requests[0].headers["authorization"] == "Bearer env-key"


async def test_list_models_reads_the_model_list(mount_provider):
    provider = await mount_provider()

    models = await provider.list_models()

    assert [m.id for m in models] == ["qwen2.5-coder:7b", "llama3.1:8b"]
