"""The model backend seam: the one file that imports llama-cpp-python.

``ModelBackend`` is what the runtime needs from a loaded model; ``LlamaBackend``
implements it with ``llama_cpp.Llama``. A backend is not thread-safe: the
runtime calls it from the inference queue's single worker thread only.
"""

import importlib.util
import json
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from .errors import ModelUnavailableError

INSTALL_COMMAND = (
    'CMAKE_ARGS="-DGGML_NATIVE=ON" CFLAGS="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16" '
    'CXXFLAGS="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16" pip install llama-cpp-python==0.3.36'
)


@dataclass(frozen=True)
class Completion:
    """One generation: its text, why it ended ("stop" | "length") and its size in tokens."""

    text: str
    finish_reason: str
    output_tokens: int


class ModelBackend(Protocol):
    """A loaded model, as the runtime uses it.

    Attributes:
        name: the model's name (GGUF ``general.name`` or the file stem).
        chat_template: the GGUF's Jinja chat template, or None.
        bos_token, eos_token: texts of the special tokens templates may print.
        n_ctx: context window, tokens.
    """

    name: str
    chat_template: str | None
    bos_token: str
    eos_token: str
    n_ctx: int

    def tokenize(self, text: str) -> list[int]:
        """Token ids of a rendered prompt (special-token texts become special tokens)."""
        ...

    def cached_prefix(self, tokens: list[int]) -> int:
        """How many leading ``tokens`` the model's KV cache already holds and will reuse."""
        ...

    def complete(
        self, tokens: list[int], schema: dict[str, Any] | None, max_tokens: int, temperature: float, stop: threading.Event
    ) -> Completion:
        """Generate at most ``max_tokens`` tokens after ``tokens``, constrained to ``schema`` when given.

        Generation ends early, with finish_reason "stop", once ``stop`` is set.
        """
        ...


PROMPT_CACHE_BYTES = 2 << 30  # RAM for saved states of earlier prompts, shared by all sessions (bytes)


class LlamaBackend:
    """``ModelBackend`` over an in-process ``llama_cpp.Llama``.

    Attributes:
        llama: the ``llama_cpp.Llama`` (bench/bench_llamacpp.py runs it raw for comparison).
    """

    def __init__(self, path: Path, *, n_ctx: int, n_threads: int) -> None:
        """Load the GGUF at ``path`` (blocking: 0.5-4 s measured for the built-in models).

        Raises:
            ModelUnavailableError: llama-cpp-python is not installed (names the pip command).
            ValueError: llama.cpp could not load the file.
        """
        llama_cpp = import_llama_cpp()
        self.llama = llama_cpp.Llama(
            model_path=str(path), n_ctx=n_ctx, n_threads=n_threads, n_threads_batch=n_threads, verbose=False
        )
        # Sessions take turns on one model, so the live KV cache mostly holds another session's prompt.
        # Saved states let each turn resume from its longest cached prefix: a 378-token prompt
        # re-evaluated in 1.5 s instead of 3.5 s here.
        self.llama.set_cache(_bounded_ram_cache(llama_cpp))
        metadata = self.llama.metadata
        self.name = metadata.get("general.name", path.stem)
        self.chat_template = metadata.get("tokenizer.chat_template")
        self.bos_token = self._token_text(metadata.get("tokenizer.ggml.bos_token_id"))
        self.eos_token = self._token_text(metadata.get("tokenizer.ggml.eos_token_id"))
        self.n_ctx = self.llama.n_ctx()

    def tokenize(self, text: str) -> list[int]:
        return self.llama.tokenize(text.encode("utf-8"), add_bos=True, special=True)

    def cached_prefix(self, tokens: list[int]) -> int:
        state = self.llama.input_ids[: self.llama.n_tokens].tolist()
        best = self.llama.longest_token_prefix(state, tokens)
        try:
            saved = self.llama.cache[tokens].input_ids.tolist()
            best = max(best, self.llama.longest_token_prefix(saved, tokens))
        except KeyError:
            pass
        # llama-cpp-python re-evaluates the last prompt token when the whole prompt is cached.
        return min(best, len(tokens) - 1)

    def complete(
        self, tokens: list[int], schema: dict[str, Any] | None, max_tokens: int, temperature: float, stop: threading.Event
    ) -> Completion:
        llama_cpp = import_llama_cpp()
        result = self.llama.create_completion(
            prompt=tokens,
            max_tokens=max_tokens,
            temperature=temperature,
            grammar=_grammar(json.dumps(schema)) if schema else None,  # key order is decoding order
            stopping_criteria=llama_cpp.StoppingCriteriaList([lambda _ids, _logits: stop.is_set()]),
        )
        choice = result["choices"][0]
        return Completion(choice["text"], choice["finish_reason"], result["usage"]["completion_tokens"])

    def _token_text(self, token_id: Any) -> str:
        if token_id is None:
            return ""
        return self.llama.detokenize([int(token_id)], special=True).decode("utf-8", errors="replace")


def check_llama_cpp() -> None:
    """Cheap mount-time check that llama-cpp-python is installed (does not load it).

    Raises:
        ModelUnavailableError: it is not; the message gives the install command.
    """
    if importlib.util.find_spec("llama_cpp") is None:
        raise _not_installed()


def import_llama_cpp() -> Any:
    """The ``llama_cpp`` module.

    Raises:
        ModelUnavailableError: llama-cpp-python is not installed; the message gives the install command.
    """
    try:
        import llama_cpp
    except ImportError as error:
        raise _not_installed() from error
    return llama_cpp


def _not_installed() -> ModelUnavailableError:
    return ModelUnavailableError(
        f"llamacpp: llama-cpp-python is not installed. Install it with: {INSTALL_COMMAND} "
        "(or pip install 'amplifier-foreman[local]' with the same CMAKE_ARGS/CFLAGS/CXXFLAGS)"
    )


def _bounded_ram_cache(llama_cpp: Any) -> Any:
    """A ``LlamaRAMCache`` that counts what a saved state really holds.

    llama-cpp-python's own cache counts only the KV bytes (about 29 KB per token for the 1.5B),
    but each saved state also copies the logits buffer (n_batch x vocabulary x 4 bytes, 311 MB for
    Qwen2.5), so its 1 GiB limit let a demo run reach 8.6 GB RSS. Counting both keeps the cache
    within ``PROMPT_CACHE_BYTES``: about six 1,300-token states, one per live session.
    """

    class BoundedRAMCache(llama_cpp.LlamaRAMCache):
        @property
        def cache_size(self) -> int:
            return sum(state.llama_state_size + state.scores.nbytes for state in self.cache_state.values())

    return BoundedRAMCache(capacity_bytes=PROMPT_CACHE_BYTES)


@lru_cache(maxsize=32)
def _grammar(schema_json: str) -> Any:
    """A compiled grammar per schema; a session's tool set repeats every turn."""
    return import_llama_cpp().LlamaGrammar.from_json_schema(schema_json, verbose=False)
