"""provider-openai against a loopback Chat Completions server, through the real openai SDK.

``ProviderWireTests`` covers the contract, errors, timeouts, drops and retries; this file adds
the Chat Completions specifics: tool_calls / tool messages, usage, quota errors, malformed tool
arguments, the placeholder key for local servers, ``max_concurrent_requests``, the model list.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

import openai
import pytest
from amplifier_core import llm_errors
from amplifier_core.message_models import ChatRequest, Message, TextBlock, ToolCallBlock, ToolResultBlock, ToolSpec
from amplifier_foreman_modules.provider_openai import PLACEHOLDER_API_KEY, mount
from amplifier_foreman_modules.provider_openai.config import OpenAISettings
from amplifier_foreman_modules.provider_openai.pricing import cost_usd
from amplifier_foreman_modules.provider_openai.provider import OpenAIProvider

from tests.support.chat_completions_server import ChatCompletionsServer, api_error, completion, tool_call, usage
from tests.support.loopback import AwaitInFlight
from tests.support.provider_wire_suite import ProviderWireTests, Wire

MODEL = "qwen2.5-coder:7b"
PATH_SCHEMA = {"type": "object", "properties": {"path": {"type": "string"}}}
READ_FILE = ToolSpec(name="read_file", description="Read a file", parameters=PATH_SCHEMA)
USER = Message(role="user", content="What is in a.txt?")

WIRE = Wire(
    provider="openai",
    model=MODEL,
    mount=mount,
    key_env="OPENAI_API_KEY",
    url_env="OPENAI_BASE_URL",
    status_error=openai.APIStatusError,
    server=ChatCompletionsServer,
    config=lambda server: {"base_url": server.api_url, "default_model": MODEL},
    answer=completion,
    rich_answer=lambda: completion(
        "Let me look at both files.",
        tool_call("call_1", "read_file", {"path": "docs/notes.md"}),
        tool_call("call_2", "read_file", {"path": "README.md", "lines": [1, 20]}),
        counts=usage(prompt=150, completion_tokens=40, cached=100),
    ),
    error=api_error,
)

ERROR_CASES = [
    (api_error(400, "This model's maximum context length is 8192 tokens", code="context_length_exceeded"),
     llm_errors.ContextLengthError, False),
    (api_error(400, "the request exceeds the available context size, try increasing it"),  # llama.cpp server
     llm_errors.ContextLengthError, False),
    (api_error(400, "'messages' is a required property"), llm_errors.InvalidRequestError, False),
    (api_error(401, "Incorrect API key provided"), llm_errors.AuthenticationError, False),
    (api_error(403, "not allowed"), llm_errors.AccessDeniedError, False),
    (api_error(404, "The model 'nope' does not exist"), llm_errors.NotFoundError, False),
    (api_error(429, "Rate limit reached for requests", retry_after=7), llm_errors.RateLimitError, True),
    (api_error(429, "You exceeded your current quota", code="insufficient_quota"),
     llm_errors.QuotaExceededError, False),
    (api_error(500, "The server had an error"), llm_errors.ProviderUnavailableError, True),
    (api_error(503, "The engine is currently overloaded"), llm_errors.ProviderUnavailableError, True),
]


def ask(*messages: Message, **fields) -> ChatRequest:
    conversation = [Message(role="system", content="You are terse."), *messages]
    return ChatRequest(messages=conversation, tools=[READ_FILE], **fields)


class TestOpenAIProvider(ProviderWireTests):
    WIRE = WIRE
    ERROR_CASES = ERROR_CASES

    @pytest.mark.parametrize("stream", [False, True])
    async def test_tool_call_round_trip(self, mount_provider, server, stream):
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
            {"role": "assistant", "content": "Reading it.", "tool_calls": [{
                "id": "call_1",
                "type": "function",
                "function": {"name": "read_file", "arguments": '{"path": "a.txt"}'},
            }]},
            {"role": "tool", "tool_call_id": "call_1", "content": "hello"},
        ]
        assert sent["tools"] == [{"type": "function", "function": {
            "name": "read_file", "description": "Read a file", "parameters": READ_FILE.parameters,
        }}]

    async def test_tool_result_blocks_become_tool_messages(self, mount_provider, server):
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

    async def test_streaming_asks_for_usage(self, mount_provider, server):
        provider = await mount_provider(stream=True)
        server.script(completion("hi", counts=usage(prompt=1200, completion_tokens=80, cached=1024)))

        counts = (await provider.complete(ask(USER))).usage

        assert server.requests[0].body["stream_options"] == {"include_usage": True}
        assert (counts.input_tokens, counts.output_tokens, counts.total_tokens) == (1200, 80, 1280)
        assert counts.cache_read_tokens == 1024
        assert counts.cost_usd == 0  # a loopback server with no price table: local inference costs nothing

    @pytest.mark.parametrize("model_key", [MODEL, "*"])
    async def test_the_price_table_prices_each_response(self, mount_provider, server, model_key):
        provider = await mount_provider(prices={model_key: {"input": 2.5, "output": 10}})
        server.script(completion("hi", counts=usage(prompt=1200, completion_tokens=80)))

        counts = (await provider.complete(ask(USER))).usage

        assert counts.cost_usd == Decimal("0.0038")  # (1200 * 2.5 + 80 * 10) / 1e6 USD

    async def test_request_settings_reach_the_wire(self, mount_provider, server):
        provider = await mount_provider(max_tokens=256, temperature=0.2, api_key="sk-test")
        server.script(completion("a"), completion("b"))

        await provider.complete(ask(USER, stop=["END"]))
        await provider.complete(ask(USER, model="llama3.1:8b", max_output_tokens=64, temperature=0.9))

        first, second = (r.body for r in server.requests)
        assert (first["model"], first["max_tokens"], first["temperature"]) == (MODEL, 256, 0.2)
        assert first["stop"] == ["END"]
        assert (second["model"], second["max_tokens"], second["temperature"]) == ("llama3.1:8b", 64, 0.9)
        assert server.requests[0].headers["authorization"] == "Bearer sk-test"

    async def test_local_server_needs_no_key(self, mount_provider, server):
        provider = await mount_provider()
        server.script(completion("hi"))

        await provider.complete(ask(USER))

        assert server.requests[0].headers["authorization"] == f"Bearer {PLACEHOLDER_API_KEY}"

    @pytest.mark.parametrize(("limit", "peak"), [(2, 2), (None, 4)])
    async def test_max_concurrent_requests_caps_requests_in_flight(self, mount_provider, server, limit, peak):
        provider = await mount_provider(max_concurrent_requests=limit)
        server.script(*[AwaitInFlight(peak, completion(f"answer {n}")) for n in range(4)])

        responses = await asyncio.gather(*[provider.complete(ask(USER)) for _ in range(4)])

        assert len(responses) == 4
        assert server.max_in_flight == peak

    async def test_malformed_tool_arguments_raise_invalid_tool_call(self, mount_provider, server):
        provider = await mount_provider()
        server.script(completion(None, tool_call("call_1", "read_file", '{"path": "a.txt"')))

        with pytest.raises(llm_errors.InvalidToolCallError) as caught:
            await provider.complete(ask(USER))

        assert (caught.value.tool_name, caught.value.raw_arguments) == ("read_file", '{"path": "a.txt"')

    async def test_list_models_reads_the_model_list(self, mount_provider):
        provider = await mount_provider()

        models = await provider.list_models()

        assert [m.id for m in models] == ["qwen2.5-coder:7b", "llama3.1:8b"]


@pytest.mark.parametrize(("base_url", "expected"), [
    ("https://api.openai.com/v1", None),  # not priced: rate data unavailable
    ("http://localhost:11434/v1", Decimal(0)),
    ("http://127.0.0.2:8080/v1", Decimal(0)),
    ("http://[::1]:8000/v1", Decimal(0)),
])
def test_an_unpriced_model_costs_none_except_on_this_machine(base_url, expected):
    assert cost_usd({"other-model": {"input": 1, "output": 1}}, base_url, MODEL, 100, 10) == expected


def test_a_malformed_price_entry_is_refused_when_the_provider_mounts():
    with pytest.raises(llm_errors.ConfigurationError, match=r"prices\['m'\] must be"):
        OpenAIProvider(OpenAISettings.from_config({"base_url": "http://localhost:1/v1", "prices": {"m": {"in": 1}}}),
                       hooks=None)
