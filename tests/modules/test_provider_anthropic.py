"""provider-anthropic against a loopback Messages API server, through the real anthropic SDK.

``ProviderWireTests`` covers the contract, errors, timeouts, drops and retries; this file adds
the Messages API specifics: tool_use / tool_result conversion, prompt caching, usage and cost,
the model list. The Retry-After parser provider-openai shares is unit-tested here.
"""

from __future__ import annotations

from decimal import Decimal

import anthropic
import pytest
from amplifier_core import llm_errors
from amplifier_core.message_models import ChatRequest, Message, TextBlock, ToolCallBlock, ToolResultBlock, ToolSpec
from amplifier_foreman_modules.provider_anthropic import mount
from amplifier_foreman_modules.provider_common.wire_errors import parse_retry_after

from tests.support.messages_server import MessagesServer, api_error, message, text, tool_use, usage
from tests.support.provider_wire_suite import ProviderWireTests, Wire

MODEL = "claude-sonnet-4-6"
PATH_SCHEMA = {"type": "object", "properties": {"path": {"type": "string"}}}
READ_FILE = ToolSpec(name="read_file", description="Read a file", parameters=PATH_SCHEMA)
LIST_DIR = ToolSpec(name="list_dir", parameters={"type": "object"})
USER = Message(role="user", content="What is in a.txt?")

WIRE = Wire(
    provider="anthropic",
    model=MODEL,
    mount=mount,
    key_env="ANTHROPIC_API_KEY",
    url_env="ANTHROPIC_BASE_URL",
    status_error=anthropic.APIStatusError,
    server=MessagesServer,
    config=lambda server: {"api_key": "test-key", "base_url": server.base_url},
    answer=lambda words: message(text(words)),
    rich_answer=lambda: message(
        text("Let me look at that file for you."),
        tool_use("toolu_9", "read_file", {"path": "docs/notes.md", "lines": [1, 20]}),
        counts=usage(input_tokens=120, output_tokens=48, cache_read=900, cache_write=60),
    ),
    error=api_error,
)

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


def ask(*messages: Message, **fields) -> ChatRequest:
    conversation = [Message(role="system", content="You are terse."), *messages]
    return ChatRequest(messages=conversation, tools=[READ_FILE, LIST_DIR], **fields)


class TestAnthropicProvider(ProviderWireTests):
    WIRE = WIRE
    ERROR_CASES = ERROR_CASES

    @pytest.mark.parametrize("stream", [False, True])
    async def test_tool_use_round_trip(self, mount_provider, server, stream):
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

    async def test_parallel_tool_results_share_one_user_turn(self, mount_provider, server):
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

        assert server.requests[0].body["messages"][-1] == {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "t1", "content": "A"},
            {"type": "tool_result", "tool_use_id": "t2", "content": '{"files": ["b"]}'},
            {"type": "text", "text": "Summarise."},
        ]}

    async def test_usage_counts_cache_tokens_and_cost(self, mount_provider, server):
        provider = await mount_provider()
        counts = usage(input_tokens=1000, output_tokens=300, cache_read=2000, cache_write=500)
        server.script(message(text("hi"), counts=counts))

        reported = (await provider.complete(ask(USER, model="claude-haiku-4-5-20251001"))).usage

        assert (reported.input_tokens, reported.output_tokens, reported.total_tokens) == (3500, 300, 3800)
        assert (reported.cache_read_tokens, reported.cache_write_tokens) == (2000, 500)
        # Haiku 4.5: $1 in, $5 out, $0.10 cache read, $1.25 cache write per million tokens.
        assert reported.cost_usd == Decimal("0.003325")

    async def test_unknown_model_has_no_cost(self, mount_provider, server):
        provider = await mount_provider(default_model="claude-next-unreleased")
        server.script(message(text("hi")))

        response = await provider.complete(ask(USER))

        assert response.usage.cost_usd is None
        assert response.metadata["model"] == "claude-next-unreleased"

    async def test_prompt_caching_marks_the_stable_prefix(self, mount_provider, server):
        provider = await mount_provider()
        server.script(message(text("hi")))

        await provider.complete(ask(USER))

        sent = server.requests[0].body
        assert sent["system"] == [{"type": "text", "text": "You are terse.", "cache_control": {"type": "ephemeral"}}]
        assert [t.get("cache_control") for t in sent["tools"]] == [None, {"type": "ephemeral"}]
        assert sent["tools"][0] == {"name": "read_file", "description": "Read a file", "input_schema": PATH_SCHEMA}

    async def test_prompt_caching_can_be_disabled(self, mount_provider, server):
        provider = await mount_provider(enable_prompt_caching=False)
        server.script(message(text("hi")))

        await provider.complete(ask(USER))

        assert "cache_control" not in str(server.requests[0].body)

    async def test_request_settings_reach_the_wire(self, mount_provider, server):
        provider = await mount_provider(default_model="claude-haiku-4-5", max_tokens=256, temperature=0.2)
        server.script(message(text("a")), message(text("b")))

        await provider.complete(ask(USER, stop=["END"]))
        await provider.complete(ask(USER, model=MODEL, max_output_tokens=64, temperature=0.9))

        first, second = (r.body for r in server.requests)
        assert (first["model"], first["max_tokens"], first["temperature"], first["stop_sequences"]) == (
            "claude-haiku-4-5", 256, 0.2, ["END"],
        )
        assert (second["model"], second["max_tokens"], second["temperature"]) == (MODEL, 64, 0.9)
        assert server.requests[0].headers["authorization"] == "Bearer test-key"

    async def test_list_models_reads_the_model_list(self, mount_provider):
        provider = await mount_provider()

        models = await provider.list_models()

        sonnet = models[0]
        assert (sonnet.id, sonnet.context_window, sonnet.max_output_tokens) == (MODEL, 200_000, 64_000)
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
