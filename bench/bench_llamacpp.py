"""Benchmark provider-llamacpp: provider vs raw llama-cpp-python, load time, tool calls, KV reuse.

    python bench/bench_llamacpp.py                                     # 1.5B default (about 5 minutes here)
    python bench/bench_llamacpp.py --model qwen2.5-coder-0.5b-instruct  # the smoke-test model (about 2 minutes)

Needs the ``[local]`` (or ``[local-small]``) extra. Prints, for one model:

1. resolve (sha256 verification of the assembled file) and load time, seconds;
2. throughput: the same prompt and the same number of greedy tokens through
   ``LlamaCppProvider.complete`` and through raw ``Llama.create_completion`` on
   the same loaded model, alternated ``--repeats`` times (who goes first
   alternates too), each from an empty KV cache; medians in seconds and
   tokens/s (generated tokens / wall time of the call), and the provider's
   overhead in %, plus the time the provider spends outside
   ``Llama.create_completion`` (rendering, tokenizing, queueing, mapping);
3. a tool call (foreman-like prompt with five issue tools, JSON-schema
   constrained, provider defaults otherwise), from an empty KV cache: latency,
   tokens, the call;
4. KV reuse: the next turn of that session (tool call + tool result appended)
   right after it (prefix reused) and from an empty cache; then another
   session with the same system prompt and tools but a different request.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from pathlib import Path
from typing import Any

from amplifier_core.message_models import ChatRequest, Message, ToolSpec
from amplifier_foreman_modules.provider_llamacpp import LlamaCppConfig, LlamaCppProvider
from amplifier_foreman_modules.provider_llamacpp.backend import LlamaBackend
from amplifier_foreman_modules.provider_llamacpp.messages import to_template_messages
from amplifier_foreman_modules.provider_llamacpp.prompt import render_prompt
from amplifier_foreman_modules.provider_llamacpp.runtime import ModelRuntime
from amplifier_foreman_modules.provider_llamacpp.scheduler import InferenceQueue
from amplifier_foreman_modules.provider_llamacpp.source import ModelSource

WRITING_PROMPT = "Write a Python module with ten small utility functions for strings, each with a docstring."
FOREMAN_SYSTEM = (
    "You are the foreman of a small software team. You split the user's goal into issues in the issue "
    "tracker, one call at a time, then stop. Workers claim and do the issues. Keep titles short and bodies "
    "concrete: what to change, where, and how to check it."
)
TEXT = {"type": "string", "maxLength": 2000}
ISSUE_TOOLS = [
    ToolSpec(
        name="issue_create",
        description="Create an issue. Returns its id.",
        parameters={
            "type": "object",
            "properties": {
                "title": {"type": "string", "maxLength": 120},
                "body": TEXT,
                "priority": {"type": "integer", "minimum": 0, "maximum": 4},
                "type": {"type": "string", "enum": ["task", "bug", "feature", "chore"]},
                "parent": {"type": "string", "description": "id of the epic this belongs to"},
            },
            "required": ["title", "body"],
        },
    ),
    ToolSpec(
        name="issue_list",
        description="List issues, newest first.",
        parameters={
            "type": "object",
            "properties": {
                "status": {"type": "string", "enum": ["open", "in_progress", "blocked", "closed"]},
                "limit": {"type": "integer", "minimum": 1, "maximum": 50},
            },
        },
    ),
    ToolSpec(name="issue_claim", description="Claim the next ready issue.", parameters={"type": "object", "properties": {}}),
    ToolSpec(
        name="issue_close",
        description="Close an issue as done.",
        parameters={"type": "object", "properties": {"id": {"type": "string"}, "reason": TEXT}, "required": ["id"]},
    ),
    ToolSpec(
        name="issue_block",
        description="Mark an issue blocked, with a note saying what is missing.",
        parameters={"type": "object", "properties": {"id": {"type": "string"}, "note": TEXT}, "required": ["id", "note"]},
    ),
]


class TimedLlamaBackend(LlamaBackend):
    """The real backend, timing its generation step (``Llama.create_completion``)."""

    generation_seconds = 0.0

    def complete(self, *args: Any) -> Any:
        started = time.perf_counter()
        try:
            return super().complete(*args)
        finally:
            self.generation_seconds = time.perf_counter() - started


class Bench:
    """One model loaded once, shared by a provider and raw calls."""

    def __init__(self, model: str, n_ctx: int, n_threads: int) -> None:
        self.config = LlamaCppConfig.from_mapping({"model": model, "n_ctx": n_ctx, "n_threads": n_threads, "temperature": 0})
        source = ModelSource.from_config(self.config)
        started = time.perf_counter()
        self.path = source.resolve()
        self.resolve_seconds = time.perf_counter() - started
        self.backend: LlamaBackend | None = None
        self.load_seconds = 0.0
        runtime = ModelRuntime(self._load)
        self.provider = LlamaCppProvider(self.config, runtime=runtime, queue=InferenceQueue())

    def _load(self, path: Path, n_ctx: int, n_threads: int) -> LlamaBackend:
        started = time.perf_counter()
        self.backend = TimedLlamaBackend(path, n_ctx=n_ctx, n_threads=n_threads)
        self.load_seconds = time.perf_counter() - started
        return self.backend

    def forget_kv(self) -> None:
        """Empty the model's KV cache so the next call evaluates its whole prompt."""
        self.backend.llama.reset()

    async def timed(self, request: ChatRequest, *, cold: bool) -> tuple[float, Any]:
        if cold:
            self.forget_kv()
        started = time.perf_counter()
        response = await self.provider.complete(request)
        return time.perf_counter() - started, response

    def raw(self, request: ChatRequest) -> tuple[float, int]:
        """The same prompt through ``Llama.create_completion`` directly, from an empty KV cache."""
        backend = self.backend
        text = render_prompt(
            backend.chat_template, to_template_messages(request.messages), [], bos_token=backend.bos_token, eos_token=backend.eos_token
        )
        tokens = backend.tokenize(text)
        self.forget_kv()
        started = time.perf_counter()
        result = backend.llama.create_completion(prompt=tokens, max_tokens=request.max_output_tokens, temperature=0)
        return time.perf_counter() - started, result["usage"]["completion_tokens"]


async def throughput(bench: Bench, tokens: int, repeats: int) -> None:
    request = ChatRequest(messages=[Message(role="user", content=WRITING_PROMPT)], max_output_tokens=tokens, temperature=0)
    provider_runs, raw_runs, own_seconds = [], [], []
    bench.raw(request)  # untimed: the first long generation after loading runs faster than the rest
    await bench.timed(request, cold=True)
    for run in range(repeats):
        if run % 2:  # alternate who goes first, against drift in a shared machine's load
            raw_runs.append(bench.raw(request))
        seconds, response = await bench.timed(request, cold=True)
        provider_runs.append((seconds, response.usage.output_tokens))
        own_seconds.append(seconds - bench.backend.generation_seconds)
        if not run % 2:
            raw_runs.append(bench.raw(request))
    print(f"\n[throughput] prompt {response.usage.input_tokens} tokens, {tokens} generated tokens requested, {repeats} runs each")
    for label, runs in (("raw llama-cpp-python", raw_runs), ("provider", provider_runs)):
        times = [seconds for seconds, _ in runs]
        print(
            f"  {label:22s} median {statistics.median(times):6.2f} s = {tokens / statistics.median(times):6.2f} tok/s, "
            f"best {min(times):6.2f} s = {tokens / min(times):6.2f} tok/s  (tokens produced: {sorted({n for _, n in runs})})"
        )
        print(f"  {'':22s} runs: {', '.join(f'{t:.2f}' for t in times)} s")
    raw_times, provider_times = [s for s, _ in raw_runs], [s for s, _ in provider_runs]
    print(
        f"  provider overhead: median {100 * (statistics.median(provider_times) / statistics.median(raw_times) - 1):+.1f} %, "
        f"best {100 * (min(provider_times) / min(raw_times) - 1):+.1f} %; "
        f"time spent outside Llama.create_completion: median {1000 * statistics.median(own_seconds):.1f} ms per call"
    )


def foreman_turn(goal: str) -> list[Message]:
    return [Message(role="system", content=FOREMAN_SYSTEM), Message(role="user", content=goal)]


async def tool_calls_and_kv_reuse(bench: Bench, max_tokens: int) -> None:
    history = foreman_turn("Goal: add a --json flag to the `foreman issues list` command, with tests and docs.")
    first = ChatRequest(messages=history, tools=ISSUE_TOOLS, max_output_tokens=max_tokens)
    seconds, response = await bench.timed(first, cold=True)
    usage = response.usage
    print(f"\n[tool call] cold: {seconds:.2f} s, prompt {usage.input_tokens} tokens, output {usage.output_tokens} tokens")
    print(f"  -> {_describe(response)}")

    call = response.content[0]
    result = '{"id": "FM-1", "status": "open"}'
    follow = history + [Message(role="assistant", content=[call]), Message(role="tool", tool_call_id=getattr(call, "id", "x"), content=result)]
    await reuse_versus_cold(bench, "next turn of the same session", ChatRequest(messages=follow, tools=ISSUE_TOOLS, max_output_tokens=max_tokens))

    other = foreman_turn("Goal: make the worker retry a failed tool call once.")
    await bench.timed(first, cold=True)  # session A's turn is what the model holds
    await reuse_versus_cold(bench, "another session, same system prompt and tools", ChatRequest(messages=other, tools=ISSUE_TOOLS, max_output_tokens=max_tokens))


async def reuse_versus_cold(bench: Bench, label: str, request: ChatRequest) -> None:
    """Time ``request`` with the KV cache as the last call left it, then from an empty cache."""
    warm_seconds, warm = await bench.timed(request, cold=False)
    cold_seconds, cold = await bench.timed(request, cold=True)
    print(
        f"[kv reuse] {label}, prompt {warm.usage.input_tokens} tokens: "
        f"with reuse {warm_seconds:.2f} s ({warm.usage.cache_read_tokens} tokens reused, {warm.usage.output_tokens} generated) "
        f"vs empty cache {cold_seconds:.2f} s ({cold.usage.output_tokens} generated)"
    )


def _describe(response: Any) -> str:
    calls = response.tool_calls or []
    return f"{calls[0].name}({calls[0].arguments})" if calls else f"text: {response.content[0].text!r}"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="qwen2.5-coder-1.5b-instruct")
    parser.add_argument("--tokens", type=int, default=128, help="generated tokens per throughput run")
    parser.add_argument("--repeats", type=int, default=6)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--n-ctx", type=int, default=4096)
    parser.add_argument("--tool-max-tokens", type=int, default=512)
    args = parser.parse_args()

    bench = Bench(args.model, args.n_ctx, args.threads)
    await bench.provider.complete(ChatRequest(messages=[Message(role="user", content="hi")], max_output_tokens=1))
    print(f"model {args.model}: {bench.path} ({bench.path.stat().st_size:,} bytes), n_threads={args.threads}, n_ctx={args.n_ctx}")
    print(f"  resolve (sha256 verify) {bench.resolve_seconds:.2f} s, load {bench.load_seconds:.2f} s")
    await throughput(bench, args.tokens, args.repeats)
    await tool_calls_and_kv_reuse(bench, args.tool_max_tokens)


if __name__ == "__main__":
    asyncio.run(main())
