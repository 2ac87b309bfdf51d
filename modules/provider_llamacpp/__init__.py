"""Amplifier provider module ``provider-llamacpp``: an embedded local LLM.

Runs a GGUF model in-process through llama-cpp-python (the ``[local]`` extra),
by default Qwen2.5-Coder-1.5B-Instruct assembled from PyPI part packages and
sha256-verified. Tool calls come from JSON-schema-constrained decoding. One
model instance and one FIFO inference queue serve every session of the
process. Config keys, units and errors: docs/modules/provider-llamacpp.md.
"""

from typing import Any

from .backend import check_llama_cpp
from .config import LlamaCppConfig
from .provider import PROVIDER_NAME, LlamaCppProvider
from .source import ModelSource

__amplifier_module_type__ = "provider"
__all__ = ["LlamaCppConfig", "LlamaCppProvider", "mount"]


async def mount(coordinator: Any, config: dict[str, Any] | None = None) -> None:
    """Mount the provider under ``providers`` as "llamacpp".

    Checks cheaply that llama-cpp-python and the model (its part packages, its
    assembled file, or ``model_path``) are there; the model itself is assembled,
    verified and loaded on the first ``complete``. Returns no cleanup: the loaded
    model is shared by the process's sessions and lives as long as the process.

    Raises:
        ConfigurationError: a config value is invalid.
        ModelUnavailableError: llama-cpp-python or the model is missing (names the pip command).
    """
    settings = LlamaCppConfig.from_mapping(config)
    check_llama_cpp()
    ModelSource.from_config(settings).check()
    provider = LlamaCppProvider(settings, coordinator=coordinator)
    await coordinator.mount("providers", provider, name=PROVIDER_NAME)
