"""``LlamaCppProvider``: amplifier-core's provider protocol over the embedded model.

Protocol: amplifier_core.interfaces.Provider (name, get_info, list_models,
complete, parse_tool_calls). Like the reference providers it emits
``llm:request`` / ``llm:response`` summaries (no payloads) through the
coordinator's hooks; the orchestrator emits the ``provider:*`` events.
"""

import asyncio
import functools
import time
from typing import Any

from amplifier_core import ConfigField, ModelInfo, ProviderInfo, llm_errors
from amplifier_core.events import LLM_REQUEST, LLM_RESPONSE
from amplifier_core.message_models import (
    ChatRequest,
    ChatResponse,
    ResponseFormatJsonSchema,
    ToolCall,
)

from .bounding import bound_schema
from .catalog import BUILTIN_MODELS, DEFAULT_MODEL
from .config import LlamaCppConfig
from .decision import FINAL_ANSWER_INSTRUCTION, decision_schema, tool_choice_mode
from .messages import (
    to_template_messages,
    to_template_tools,
    tool_result_since_last_user,
)
from .response import to_chat_response
from .runtime import SHARED_RUNTIME, GenerationRequest, ModelKey, ModelRuntime
from .scheduler import SHARED_QUEUE, InferenceQueue
from .source import ModelSource

PROVIDER_NAME = "llamacpp"


class LlamaCppProvider:
    """One session's handle on the process-wide model and inference queue.

    Attributes:
        name: "llamacpp".
        priority: rank for orchestrators choosing among providers; lower is preferred.
    """

    name = PROVIDER_NAME

    def __init__(
        self,
        config: LlamaCppConfig,
        *,
        coordinator: Any = None,
        runtime: ModelRuntime = SHARED_RUNTIME,
        queue: InferenceQueue = SHARED_QUEUE,
    ) -> None:
        """Build a provider; nothing is loaded until the first ``complete``.

        Args:
            config: validated config.
            coordinator: where ``llm:*`` events go (its ``hooks``); None emits nothing.
            runtime, queue: the process-wide ones unless a test passes its own.
        """
        self.config = config
        self.priority = config.priority
        self._coordinator = coordinator
        self._runtime = runtime
        self._queue = queue
        self._key = ModelKey(ModelSource.from_config(config), config.n_ctx, config.n_threads)

    @property
    def model_id(self) -> str:
        """The configured model: a built-in id or the GGUF file's stem."""
        return self._key.source.id

    def get_info(self) -> ProviderInfo:
        """Provider metadata: no credentials, local tool-calling model, this instance's settings."""
        return ProviderInfo(
            id=PROVIDER_NAME,
            display_name="llama.cpp (embedded local model)",
            credential_env_vars=[],
            capabilities=["tools", "json_mode", "local"],
            defaults={
                "model": self.model_id,
                "n_ctx": self.config.n_ctx,
                "max_tokens": self.config.max_tokens,
                "temperature": self.config.temperature,
                "priority": self.config.priority,
            },
            config_fields=[
                ConfigField(
                    id="model",
                    display_name="Model",
                    field_type="choice",
                    prompt="Which built-in model?",
                    choices=list(BUILTIN_MODELS),
                    default=DEFAULT_MODEL,
                    required=False,
                ),
                ConfigField(
                    id="model_path",
                    display_name="GGUF file",
                    prompt="Path of a GGUF model to use instead (optional)",
                    required=False,
                ),
            ],
        )

    async def list_models(self) -> list[ModelInfo]:
        """The built-in models, plus the configured GGUF when ``model_path`` is set."""
        models = [(m.id, m.display_name) for m in BUILTIN_MODELS.values()]
        if self.config.model_path:
            models.append((self.model_id, str(self.config.model_path)))
        return [
            ModelInfo(
                id=model_id,
                display_name=display_name,
                context_window=self.config.n_ctx,
                max_output_tokens=self.config.n_ctx,
                capabilities=["tools", "json_mode", "local"],
                defaults={"max_tokens": self.config.max_tokens, "temperature": self.config.temperature},
            )
            for model_id, display_name in models
        ]

    async def complete(self, request: ChatRequest, **kwargs: Any) -> ChatResponse:
        """Generate one reply: a tool call or text.

        Waits its turn in the process-wide FIFO queue; ``request.max_output_tokens``
        and ``request.temperature`` override the config; ``request.timeout`` (seconds)
        bounds queueing plus generation. ``request.model`` and ``kwargs`` are ignored:
        the model is fixed at mount.

        Raises:
            ContextLengthError: prompt + max_tokens exceed n_ctx.
            InvalidRequestError: tool_choice names a tool not offered.
            InvalidToolCallError: a tool-call reply was cut by max_tokens.
            LLMTimeoutError: ``request.timeout`` elapsed.
            ModelUnavailableError, ModelIntegrityError: the model cannot be loaded.
            LLMError: llama.cpp failed otherwise.
        """
        generation, deciding = self._generation(request)
        await self._emit(LLM_REQUEST, {"provider": self.name, "model": self.model_id, "message_count": len(request.messages)})
        started = time.monotonic()
        try:
            job = functools.partial(self._runtime.generate, self._key, generation)
            result = await asyncio.wait_for(self._queue.run(job), timeout=request.timeout)
            response = to_chat_response(result, tool_decision=deciding)
        except Exception as error:
            mapped = _as_llm_error(error, self.model_id, request.timeout)
            await self._emit(LLM_RESPONSE, self._summary(started, status="error", error=str(mapped)))
            if mapped is error:
                raise
            raise mapped from error
        await self._emit(LLM_RESPONSE, self._summary(started, status="ok", usage=response.usage.model_dump(mode="json")))
        return response

    def parse_tool_calls(self, response: ChatResponse) -> list[ToolCall]:
        """The response's tool calls (at most one per reply); [] for a text reply."""
        return list(response.tool_calls or [])

    def _generation(self, request: ChatRequest) -> tuple[GenerationRequest, bool]:
        """The generation for ``request``, and whether it decodes a tool decision.

        In "auto" mode the final-answer instruction is always in the system
        message (so the prompt prefix, and its KV cache, stay the same across
        turns); the option itself is withheld until the model has acted when
        ``act_first`` is set.
        """
        max_tokens = request.max_output_tokens or self.config.max_tokens
        mode = tool_choice_mode(request.tool_choice)
        acted = not self.config.act_first or tool_result_since_last_user(request.messages)
        schema = decision_schema(request.tools or [], mode, max_tokens, offer_answer=acted)
        deciding = schema is not None
        if not deciding and isinstance(request.response_format, ResponseFormatJsonSchema):
            schema = bound_schema(request.response_format.json_schema, max_tokens)
        instruction = FINAL_ANSWER_INSTRUCTION if deciding and mode == "auto" else None
        generation = GenerationRequest(
            messages=to_template_messages(request.messages, instruction),
            tools=to_template_tools(request.tools) if deciding else [],
            schema=schema,
            max_tokens=max_tokens,
            temperature=self.config.temperature if request.temperature is None else request.temperature,
        )
        return generation, deciding

    def _summary(self, started: float, **fields: Any) -> dict[str, Any]:
        duration_ms = round((time.monotonic() - started) * 1000)
        return {"provider": self.name, "model": self.model_id, "duration_ms": duration_ms, **fields}

    async def _emit(self, event: str, data: dict[str, Any]) -> None:
        hooks = getattr(self._coordinator, "hooks", None)
        if hooks is not None:
            await hooks.emit(event, data)


def _as_llm_error(error: Exception, model: str, timeout: float | None) -> llm_errors.LLMError:
    if isinstance(error, llm_errors.LLMError):
        return error
    if isinstance(error, TimeoutError):
        return llm_errors.LLMTimeoutError(
            f"llamacpp: no reply within request.timeout={timeout} s", provider=PROVIDER_NAME, model=model
        )
    return llm_errors.LLMError(f"llamacpp: inference failed: {type(error).__name__}: {error}", provider=PROVIDER_NAME, model=model)
