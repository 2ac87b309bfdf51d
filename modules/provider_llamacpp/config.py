"""The provider's configuration: mount-plan keys, defaults and units."""

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from amplifier_core.llm_errors import ConfigurationError

from .assembly import default_cache_dir
from .catalog import BUILTIN_MODELS, DEFAULT_MODEL

DEFAULT_N_CTX = 8192  # tokens: prompt + generated, per call
DEFAULT_MAX_TOKENS = 1024  # tokens generated per call at most; also sizes the tool-call schema bounds
DEFAULT_TEMPERATURE = 0.2
DEFAULT_PRIORITY = 100  # orchestrators pick the lowest value; API providers usually rank first


@dataclass(frozen=True)
class LlamaCppConfig:
    """Validated mount-plan config.

    Attributes:
        model: built-in model id (``BUILTIN_MODELS``); ignored when ``model_path`` is set.
        model_path: any GGUF file to load instead of a built-in model (not hash-checked).
        cache_dir: where built-in models are assembled (default ``assembly.default_cache_dir()``).
        n_ctx: context window, tokens (prompt + generated).
        n_threads: CPU threads used by one inference (default: the CPUs this process may use).
        max_tokens: tokens generated per call at most (``ChatRequest.max_output_tokens`` overrides).
        temperature: sampling temperature, 0 = greedy (``ChatRequest.temperature`` overrides).
        priority: provider rank for orchestrators; lower is preferred.
        act_first: with tools offered and tool_choice unset/"auto", the first reply after a user
            message must be a tool call (the final-answer option comes once a tool result exists).
            Measured: without it the 1.5B model answered "Task completed." to a foreman goal before
            doing anything (docs/benchmarks.md, provider-llamacpp).
    """

    model: str = DEFAULT_MODEL
    model_path: Path | None = None
    cache_dir: Path = field(default_factory=default_cache_dir)
    n_ctx: int = DEFAULT_N_CTX
    n_threads: int = field(default_factory=lambda: len(os.sched_getaffinity(0)))
    max_tokens: int = DEFAULT_MAX_TOKENS
    temperature: float = DEFAULT_TEMPERATURE
    priority: int = DEFAULT_PRIORITY
    act_first: bool = True

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any] | None) -> "LlamaCppConfig":
        """Parse a mount-plan ``config`` dict; absent keys take the defaults.

        Raises:
            ConfigurationError: a value has the wrong type or range, or ``model`` is unknown.
        """
        raw, defaults = raw or {}, cls()
        config = cls(
            model=str(raw.get("model", defaults.model)),
            model_path=_path(raw.get("model_path")),
            cache_dir=_path(raw.get("cache_dir")) or defaults.cache_dir,
            n_ctx=_positive_int(raw, "n_ctx", defaults.n_ctx),
            n_threads=_positive_int(raw, "n_threads", defaults.n_threads),
            max_tokens=_positive_int(raw, "max_tokens", defaults.max_tokens),
            temperature=_non_negative_float(raw, "temperature", defaults.temperature),
            priority=_int(raw, "priority", defaults.priority),
            act_first=_bool(raw, "act_first", defaults.act_first),
        )
        if config.model_path is None and config.model not in BUILTIN_MODELS:
            raise ConfigurationError(
                f"llamacpp: unknown model {config.model!r}; choose one of {sorted(BUILTIN_MODELS)} "
                "or set model_path to a GGUF file"
            )
        if config.max_tokens >= config.n_ctx:
            raise ConfigurationError(f"llamacpp: max_tokens ({config.max_tokens}) must be below n_ctx ({config.n_ctx})")
        return config


def _path(value: Any) -> Path | None:
    return Path(os.path.expanduser(str(value))) if value else None


def _bool(raw: Mapping[str, Any], key: str, default: bool) -> bool:
    value = raw.get(key, default)
    if not isinstance(value, bool):
        raise ConfigurationError(f"llamacpp: {key} must be true or false, got {value!r}")
    return value


def _int(raw: Mapping[str, Any], key: str, default: int) -> int:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigurationError(f"llamacpp: {key} must be an integer, got {value!r}")
    return value


def _positive_int(raw: Mapping[str, Any], key: str, default: int) -> int:
    value = _int(raw, key, default)
    if value <= 0:
        raise ConfigurationError(f"llamacpp: {key} must be positive, got {value}")
    return value


def _non_negative_float(raw: Mapping[str, Any], key: str, default: float) -> float:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ConfigurationError(f"llamacpp: {key} must be a number >= 0, got {value!r}")
    return float(value)
