"""Test doubles that ship with amplifier-foreman: a fake LLM and a function-backed tool.

:class:`ScriptedProvider` is a FAKE LLM. It never reaches a network or a model: it
replays a queue of scripted turns, records every request, and implements the whole
amplifier-core Provider protocol, so tests drive the real orchestrator deterministically.

A script is a list of turns, each one of:

- ``"text"``: a final answer;
- ``call("tool", arg=...)``: one tool call; ``[call(...), call(...)]``: parallel calls;
  a list may also hold strings, which become text blocks before the calls;
- a ``ChatResponse``: returned as it is;
- an ``Exception`` instance: raised from ``complete()`` (to test provider failures);
- a callable ``(ChatRequest) -> turn`` (or an async one): answers from what the request
  holds, e.g. ``lambda request: f"saw {last_tool_result(request)}"``.

Mounting into a real (Rust-backed) ``amplifier_core.AmplifierSession``, measured with
amplifier-core 2.0.2: a mount plan needs no provider; mount the fake after
``initialize()`` (mounting before it works too) and the orchestrator finds it in
``providers``::

    session = AmplifierSession(session_plan())
    await session.initialize()
    provider = ScriptedProvider([call("echo", text="hi"), lambda r: last_tool_result(r)])
    await mount_scripted(session, provider, tools=[FunctionTool("echo", lambda args: args["text"])])
    assert await session.execute("say hi") == "hi"
    provider.assert_complete()
    await session.cleanup()

An exception raised by the fake (script exhausted, scripted error) fails
``session.execute()`` with ``RuntimeError("Execution failed: <Type>: <message>")``.
"""

import inspect
import itertools
import json
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Union

from amplifier_core.message_models import (
    ChatRequest,
    ChatResponse,
    TextBlock,
    ToolCall,
    ToolCallBlock,
    Usage,
)
from amplifier_core.models import ModelInfo, ProviderInfo, ToolResult

__all__ = [
    "FunctionTool",
    "ScriptExhausted",
    "ScriptedCall",
    "ScriptedProvider",
    "StreamingScriptedProvider",
    "Turn",
    "call",
    "last_tool_result",
    "mount_scripted",
    "session_plan",
]

CHARS_PER_TOKEN = 4  # the fake's usage figures: characters of JSON / 4


@dataclass(frozen=True)
class ScriptedCall:
    """One scripted tool call; ``id`` None lets the provider number it (``call_1``, ...)."""

    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    id: str | None = None


def call(tool: str, /, **arguments: Any) -> ScriptedCall:
    """A scripted call of ``tool`` with keyword ``arguments``: ``call("bash", command="ls")``."""
    return ScriptedCall(tool, arguments)


#: One scripted turn (shapes in the module doc).
Turn = Union[str, ScriptedCall, list, ChatResponse, Exception, Callable[[ChatRequest], Any]]


class ScriptExhausted(AssertionError):
    """The fake LLM was asked for more turns than its script holds."""


class ScriptedProvider:
    """A fake LLM provider replaying scripted turns (see the module doc for turn shapes).

    Args:
        turns: the script, consumed one turn per ``complete()`` call.
        name: provider name (also the ``ProviderInfo.id``).
        model: model id reported in ``ChatResponse.metadata["model"]`` and ``list_models()``.
        priority: loop-streaming picks the lowest priority among mounted providers.
        cost_per_call: ``Usage.cost_usd`` of every response, in USD.
        context_window: tokens, reported in ``get_info().defaults`` (context budgets use it).
        max_output_tokens: tokens, likewise.

    Attributes:
        requests: every ``ChatRequest`` received, in order.

    Give each session its own provider: sessions sharing one consume its script in
    whatever order they happen to call it.
    """

    def __init__(
        self,
        turns: Iterable[Turn],
        *,
        name: str = "scripted",
        model: str = "scripted-model",
        priority: int = 0,
        cost_per_call: Decimal = Decimal("0"),
        context_window: int = 200_000,
        max_output_tokens: int = 8_192,
    ):
        self.name = name
        self.model = model
        self.priority = priority
        self.cost_per_call = cost_per_call
        self.context_window = context_window
        self.max_output_tokens = max_output_tokens
        self.requests: list[ChatRequest] = []
        self._turns = list(turns)
        self._call_ids = (f"call_{number}" for number in itertools.count(1))

    def get_info(self) -> ProviderInfo:
        """Provider metadata; ``defaults`` carries ``model``, ``context_window``, ``max_output_tokens``."""
        return ProviderInfo(
            id=self.name,
            display_name="Scripted fake LLM (tests only)",
            capabilities=["tools"],
            defaults={
                "model": self.model,
                "context_window": self.context_window,
                "max_output_tokens": self.max_output_tokens,
            },
        )

    async def list_models(self) -> list[ModelInfo]:
        """The one fake model."""
        return [
            ModelInfo(
                id=self.model,
                display_name="Scripted fake model",
                context_window=self.context_window,
                max_output_tokens=self.max_output_tokens,
                capabilities=["tools"],
            )
        ]

    async def complete(self, request: ChatRequest, **kwargs: Any) -> ChatResponse:
        """Record ``request`` and answer with the next scripted turn.

        Raises:
            ScriptExhausted: no scripted turn is left.
            Exception: the turn is (or its callable returned) an exception instance.
        """
        self.requests.append(request)
        if not self._turns:
            number = len(self.requests)
            raise ScriptExhausted(f"ScriptedProvider {self.name!r}: no scripted turn left for request #{number}")
        turn = self._turns.pop(0)
        if callable(turn):
            turn = turn(request)
            if inspect.isawaitable(turn):
                turn = await turn
        if isinstance(turn, Exception):
            raise turn
        return turn if isinstance(turn, ChatResponse) else self._response(request, turn)

    def parse_tool_calls(self, response: ChatResponse) -> list[ToolCall]:
        """The response's tool calls (empty list when none)."""
        return list(response.tool_calls or [])

    def assert_complete(self) -> None:
        """Fail unless every scripted turn was used.

        Raises:
            AssertionError: turns are left; the message lists them.
        """
        if self._turns:
            left = f"{len(self._turns)} scripted turn(s) not used: {self._turns!r}"
            raise AssertionError(f"ScriptedProvider {self.name!r}: {left}")

    def _response(self, request: ChatRequest, turn: Any) -> ChatResponse:
        items = turn if isinstance(turn, list) else [turn]
        texts = [TextBlock(text=item) for item in items if isinstance(item, str)]
        calls = [self._tool_call(item) for item in items if not isinstance(item, str)]
        content = [*texts, *(ToolCallBlock(id=c.id, name=c.name, input=c.arguments) for c in calls)]
        output_chars = sum(len(block.model_dump_json()) for block in content)
        input_tokens = len(request.model_dump_json()) // CHARS_PER_TOKEN
        output_tokens = output_chars // CHARS_PER_TOKEN
        return ChatResponse(
            content=content,
            tool_calls=calls or None,
            usage=Usage(
                input_tokens=input_tokens,
                output_tokens=output_tokens,
                total_tokens=input_tokens + output_tokens,
                cost_usd=self.cost_per_call,
            ),
            finish_reason="tool_use" if calls else "end_turn",
            metadata={"model": self.model},
        )

    def _tool_call(self, item: Any) -> ToolCall:
        if not isinstance(item, ScriptedCall):
            raise TypeError(f"a scripted turn holds str or ScriptedCall items, got {item!r}")
        return ToolCall(id=item.id or next(self._call_ids), name=item.name, arguments=item.arguments)


class StreamingScriptedProvider(ScriptedProvider):
    """A :class:`ScriptedProvider` that also has ``stream()`` (so loop-streaming streams from it).

    ``stream(request)`` yields the answer's text word by word (``str`` deltas), then the
    full ``ChatResponse``, following loop-streaming's streaming contract.
    """

    async def stream(self, request: ChatRequest, **kwargs: Any):
        """Async generator: text deltas (they join to the text), then the ``ChatResponse``.

        Raises:
            Exception: as ``complete`` does.
        """
        response = await self.complete(request, **kwargs)
        for block in response.content:
            if isinstance(block, TextBlock):
                for word in re.split(r"(?<= )", block.text):
                    yield word
        yield response


class FunctionTool:
    """A tool backed by a Python function, recording the input of every call.

    Args:
        name: tool name the model calls.
        function: ``(input: dict) -> value``, sync or async. A returned ``ToolResult`` is
            passed through; any other value becomes ``ToolResult(output=value)``;
            exceptions propagate (the orchestrator turns them into error results).
        description: shown to the model.
        input_schema: JSON Schema of the input; default: any object.

    Attributes:
        calls: the input dict of every call, in call order.
    """

    def __init__(
        self,
        name: str,
        function: Callable[[dict[str, Any]], Any | Awaitable[Any]],
        description: str = "",
        input_schema: dict[str, Any] | None = None,
    ):
        self.name = name
        self.description = description or f"Test tool {name}"
        self.input_schema = input_schema or {"type": "object", "properties": {}}
        self.calls: list[dict[str, Any]] = []
        self._function = function

    async def execute(self, input: dict[str, Any]) -> ToolResult:
        """Record ``input`` and run the function on it."""
        self.calls.append(dict(input))
        value = self._function(input)
        if inspect.isawaitable(value):
            value = await value
        return value if isinstance(value, ToolResult) else ToolResult(output=value)


def last_tool_result(request: ChatRequest) -> str | None:
    """The text of the newest tool-result message in ``request`` (None if there is none).

    Block content is flattened: text blocks joined by newlines, other blocks as JSON.
    """
    for message in reversed(request.messages):
        if message.role == "tool":
            if isinstance(message.content, str):
                return message.content
            return "\n".join(_block_text(block) for block in message.content)
    return None


def _block_text(block: Any) -> str:
    text = getattr(block, "text", None)
    return text if isinstance(text, str) else json.dumps(block.model_dump(mode="json"))


def session_plan(
    orchestrator_config: dict[str, Any] | None = None, context_config: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A minimal mount plan: loop-streaming + context-simple, no providers, tools or hooks."""
    return {
        "session": {
            "orchestrator": {"module": "loop-streaming", "config": orchestrator_config or {}},
            "context": {"module": "context-simple", "config": context_config or {}},
        }
    }


async def mount_scripted(session: Any, provider: ScriptedProvider, *, tools: Iterable[Any] = ()) -> None:
    """Mount ``provider`` (under its name) and ``tools`` (under theirs) into ``session``.

    Args:
        session: an ``AmplifierSession`` (Rust or pure Python), normally already initialised.
        provider: the fake LLM.
        tools: objects following the Tool protocol (e.g. :class:`FunctionTool`).
    """
    coordinator = session.coordinator
    await coordinator.mount("providers", provider, name=provider.name)
    for tool in tools:
        await coordinator.mount("tools", tool, name=tool.name)
