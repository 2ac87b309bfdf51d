"""The process's loaded models, and one generation on one of them.

Models are loaded lazily, once per process per ``ModelKey`` (source, n_ctx,
n_threads), and shared by every session. All methods run on the inference
queue's worker thread, so the registry needs no lock and a backend is never
used from two threads. Consecutive calls of one session reuse the KV cache
for the prompt prefix the model already holds (llama-cpp-python does this when
the new prompt extends the last one); ``GenerationResult.cached_tokens``
reports how much was reused.
"""

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from amplifier_core.llm_errors import ContextLengthError

from .backend import LlamaBackend, ModelBackend
from .prompt import render_prompt
from .source import ModelSource

#: Loads a backend: (GGUF path, n_ctx tokens, n_threads) -> backend. Blocking.
BackendFactory = Callable[[Path, int, int], ModelBackend]


@dataclass(frozen=True)
class ModelKey:
    """What makes two providers share one loaded model."""

    source: ModelSource
    n_ctx: int  # tokens
    n_threads: int


@dataclass(frozen=True)
class GenerationRequest:
    """One call, already converted: template messages and tools, and the reply's schema (None = free text)."""

    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]]
    schema: dict[str, Any] | None
    max_tokens: int  # tokens generated at most
    temperature: float


@dataclass(frozen=True)
class GenerationResult:
    """The reply text and its accounting, in tokens."""

    text: str
    finish_reason: str  # "stop" | "length"
    input_tokens: int
    output_tokens: int
    cached_tokens: int  # prompt tokens whose KV entries were reused
    model_name: str


class ModelRuntime:
    """The models loaded in this process and the generation step."""

    def __init__(self, factory: BackendFactory) -> None:
        self._factory = factory
        self._loaded: dict[ModelKey, ModelBackend] = {}

    def generate(self, key: ModelKey, request: GenerationRequest, stop: threading.Event) -> GenerationResult:
        """Render, tokenize, check the context window, and generate. Worker thread only.

        Raises:
            ContextLengthError: prompt tokens + max_tokens exceed the model's n_ctx.
            ModelUnavailableError, ModelIntegrityError: the model cannot be loaded.
        """
        backend = self._backend(key)
        prompt = render_prompt(
            backend.chat_template,
            request.messages,
            request.tools,
            bos_token=backend.bos_token,
            eos_token=backend.eos_token,
        )
        tokens = backend.tokenize(prompt)
        if len(tokens) + request.max_tokens > backend.n_ctx:
            raise ContextLengthError(
                f"llamacpp: prompt of {len(tokens)} tokens + max_tokens {request.max_tokens} "
                f"exceeds n_ctx {backend.n_ctx}",
                provider="llamacpp",
                model=key.source.id,
            )
        cached = backend.cached_prefix(tokens)
        completion = backend.complete(tokens, request.schema, request.max_tokens, request.temperature, stop)
        return GenerationResult(
            text=completion.text,
            finish_reason=completion.finish_reason,
            input_tokens=len(tokens),
            output_tokens=completion.output_tokens,
            cached_tokens=cached,
            model_name=backend.name,
        )

    def _backend(self, key: ModelKey) -> ModelBackend:
        if key not in self._loaded:
            self._loaded[key] = self._factory(key.source.resolve(), key.n_ctx, key.n_threads)
        return self._loaded[key]


def _load_llama(path: Path, n_ctx: int, n_threads: int) -> ModelBackend:
    return LlamaBackend(path, n_ctx=n_ctx, n_threads=n_threads)


#: The runtime every provider instance of this process shares.
SHARED_RUNTIME = ModelRuntime(_load_llama)
