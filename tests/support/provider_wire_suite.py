"""``ProviderWireTests``: one wire-level suite for every SDK-backed provider.

A test class inherits it and sets two class attributes: ``WIRE`` (a ``Wire``: how to mount the
provider and script its loopback server) and ``ERROR_CASES`` (tuples of an error reply, the
``llm_errors`` class it must become, and whether that is retryable). The suite then checks, through
the real SDK: amplifier-core's provider contract, that streaming and plain JSON give the same
ChatResponse, the error mapping, timeouts, dropped connections, Retry-After as a lower bound on
the retry delay (the only timed assertion), the retry limit, ``provider:retry`` events, and the
API-key rules at mount time. It also provides the ``server``, ``mount_provider`` and
``retry_events`` fixtures to the subclass's own protocol-specific tests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import pytest
from amplifier_core import llm_errors
from amplifier_core.message_models import ChatRequest, Message, TextBlock
from amplifier_core.validation.behavioral import ProviderBehaviorTests

from tests.support.loopback import HOLD_LIMIT, DropConnection, JsonReply, LoopbackServer, Reply, Stall
from tests.support.provider_harness import Mount, mounting, record_retries


@dataclass(frozen=True)
class Wire:
    """One provider and its protocol, as the suite needs them.

    Attributes:
        provider: mount name ("anthropic").
        model: the default model the provider is mounted with.
        mount: the module's ``mount(coordinator, config)``.
        key_env / url_env: the API key and base URL environment variables.
        status_error: the SDK's ``APIStatusError`` (expected as ``__cause__``).
        server: the loopback server class.
        config: base mount config for a running server (key, base_url, model).
        answer: a reply with this text only.
        rich_answer: a reply with text, a tool call and non-trivial usage.
        error: ``error(status, message, retry_after=None)``, the protocol's error reply.
    """

    provider: str
    model: str
    mount: Mount
    key_env: str
    url_env: str
    status_error: type[Exception]
    server: type[LoopbackServer]
    config: Callable[[Any], dict[str, Any]]
    answer: Callable[[str], Reply]
    rich_answer: Callable[[], Reply]
    error: Callable[..., JsonReply]


QUESTION = ChatRequest(messages=[Message(role="system", content="Be terse."), Message(role="user", content="hi")])


class ProviderWireTests(ProviderBehaviorTests):
    """The suite; see the module docstring for the class attributes a subclass sets."""

    WIRE: ClassVar[Wire]
    ERROR_CASES: ClassVar[list[tuple[JsonReply, type[llm_errors.LLMError], bool]]]

    def pytest_generate_tests(self, metafunc):
        if "error_case" in metafunc.fixturenames:
            ids = [f"{reply.status}-{cls.__name__}-{n}" for n, (reply, cls, _) in enumerate(self.ERROR_CASES)]
            metafunc.parametrize("error_case", self.ERROR_CASES, ids=ids)

    @pytest.fixture
    def wire(self):
        return self.WIRE

    @pytest.fixture
    def server(self, wire):
        with wire.server() as running:
            yield running

    @pytest.fixture
    async def mount_provider(self, wire, coordinator, server, monkeypatch):
        """Factory: mount the provider aimed at ``server`` with config overrides; no env fallbacks."""
        monkeypatch.delenv(wire.key_env, raising=False)
        monkeypatch.delenv(wire.url_env, raising=False)
        async with mounting(coordinator, wire.mount, wire.provider, wire.config(server)) as mounted:
            yield mounted

    @pytest.fixture
    def retry_events(self, coordinator):
        return record_retries(coordinator)

    @pytest.fixture
    async def provider_module(self, mount_provider):
        return await mount_provider()

    async def test_streaming_and_json_give_the_same_response(self, wire, mount_provider, server):
        provider = await mount_provider(stream=False)
        server.script(wire.rich_answer(), wire.rich_answer())

        as_json = await provider.complete(QUESTION)
        as_stream = await provider.complete(QUESTION.model_copy(update={"stream": True}))

        assert [r.body.get("stream", False) for r in server.requests] == [False, True]
        assert as_stream == as_json
        assert as_json.tool_calls and as_json.usage.output_tokens > 0

    async def test_error_statuses_map_to_llm_errors(self, wire, mount_provider, server, error_case):
        reply, expected, retryable = error_case
        provider = await mount_provider(max_retries=0)
        server.script(reply)

        with pytest.raises(llm_errors.LLMError) as caught:
            await provider.complete(QUESTION)

        error = caught.value
        assert type(error) is expected
        assert (error.status_code, error.retryable) == (reply.status, retryable)
        assert (error.provider, error.model) == (wire.provider, wire.model)
        assert isinstance(error.__cause__, wire.status_error)
        assert error.retry_after == (float(reply.headers["retry-after"]) if "retry-after" in reply.headers else None)

    async def test_timeout_maps_to_llm_timeout_error(self, wire, mount_provider, server):
        provider = await mount_provider(max_retries=0, timeout=0.2)
        server.script(Stall(HOLD_LIMIT, wire.answer("too late")))

        with pytest.raises(llm_errors.LLMTimeoutError) as caught:
            await provider.complete(QUESTION)

        assert caught.value.retryable

    @pytest.mark.parametrize(
        ("stream", "expected"), [(False, llm_errors.NetworkError), (True, llm_errors.StreamError)]
    )
    async def test_dropped_connection_maps_to_a_retryable_error(self, wire, mount_provider, server, stream, expected):
        provider = await mount_provider(max_retries=0, stream=stream)
        server.script(DropConnection(wire.rich_answer(), keep=3))

        with pytest.raises(expected) as caught:
            await provider.complete(QUESTION)

        assert caught.value.retryable

    async def test_retry_after_is_honoured(self, wire, mount_provider, server, retry_events):
        provider = await mount_provider(max_retries=2)
        server.script(wire.error(429, "slow down", retry_after=1), wire.answer("finally"))

        response = await provider.complete(QUESTION)

        assert response.content == [TextBlock(text="finally")]
        first, second = server.requests
        assert second.received_at - first.received_at >= 1.0
        [event] = retry_events
        assert (event["provider"], event["model"]) == (wire.provider, wire.model)
        assert (event["error_type"], event["status_code"], event["retry_after"]) == ("RateLimitError", 429, 1.0)
        assert (event["attempt"], event["max_retries"]) == (1, 2)
        assert event["delay"] >= 1.0

    async def test_retries_stop_after_max_retries(self, wire, mount_provider, server, retry_events):
        provider = await mount_provider(max_retries=2)
        server.script(*[wire.error(500, "boom")] * 3, wire.answer("never reached"))

        with pytest.raises(llm_errors.ProviderUnavailableError):
            await provider.complete(QUESTION)

        assert len(server.requests) == 3
        assert [e["attempt"] for e in retry_events] == [1, 2]

    async def test_transient_failures_are_retried_until_success(self, wire, mount_provider, server):
        provider = await mount_provider(max_retries=3, timeout=0.5, stream=True)
        server.script(
            wire.error(503, "busy"),
            DropConnection(wire.rich_answer(), keep=3),
            Stall(HOLD_LIMIT, wire.answer("too late")),
            wire.answer("made it"),
        )

        response = await provider.complete(QUESTION)

        assert response.content == [TextBlock(text="made it")]
        assert len(server.requests) == 4

    async def test_non_retryable_errors_are_not_retried(self, wire, mount_provider, server, retry_events):
        provider = await mount_provider(max_retries=3)
        server.script(wire.error(401, "bad key"), wire.answer("never reached"))

        with pytest.raises(llm_errors.AuthenticationError):
            await provider.complete(QUESTION)

        assert len(server.requests) == 1
        assert retry_events == []

    async def test_no_key_and_no_base_url_fails_at_mount(self, wire, coordinator, monkeypatch):
        monkeypatch.delenv(wire.key_env, raising=False)
        monkeypatch.delenv(wire.url_env, raising=False)

        with pytest.raises(llm_errors.ConfigurationError, match=wire.key_env):
            await wire.mount(coordinator, {})

        assert coordinator.get("providers") == {}

    async def test_key_and_base_url_come_from_the_environment(self, wire, coordinator, server, monkeypatch):
        config = wire.config(server)
        monkeypatch.setenv(wire.key_env, "env-key")
        monkeypatch.setenv(wire.url_env, config.pop("base_url"))
        config.pop("api_key", None)
        cleanup = await wire.mount(coordinator, config)
        server.script(wire.answer("hi"))

        await coordinator.get("providers")[wire.provider].complete(QUESTION)
        await cleanup()

        assert server.requests[0].headers["authorization"] == "Bearer env-key"

    async def test_badly_typed_config_fails_at_mount(self, wire, coordinator, server):
        with pytest.raises(llm_errors.ConfigurationError, match="timeout"):
            await wire.mount(coordinator, {**wire.config(server), "timeout": "soon"})
