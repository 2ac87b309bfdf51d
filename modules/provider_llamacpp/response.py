"""Map a generation to amplifier-core's ``ChatResponse``.

A reply decoded under the tool-decision schema (``schema.decision_schema``)
is one JSON object: ``{"name", "arguments"}`` becomes a ``ToolCallBlock`` and
a ``ToolCall``; ``{"final_answer"}`` becomes a ``TextBlock``. Any other reply
(free text, or JSON under a caller's ``response_format`` schema) is one
``TextBlock``. Usage is in tokens; local inference costs 0 USD.
"""

import json
import uuid
from decimal import Decimal
from typing import Any

from amplifier_core.llm_errors import InvalidToolCallError
from amplifier_core.message_models import (
    ChatResponse,
    TextBlock,
    ToolCall,
    ToolCallBlock,
    Usage,
)

from .decision import FINAL_ANSWER_KEY
from .runtime import GenerationResult


def to_chat_response(result: GenerationResult, *, tool_decision: bool) -> ChatResponse:
    """The ``ChatResponse`` for ``result``; ``tool_decision`` says the decision schema was used.

    Raises:
        InvalidToolCallError: a decision reply is not complete JSON, which happens only
            when generation hit max_tokens first (finish_reason "length").
    """
    if not tool_decision:
        return _response([TextBlock(text=result.text)], None, result)
    decision = _parse_decision(result)
    if FINAL_ANSWER_KEY in decision:
        return _response([TextBlock(text=decision[FINAL_ANSWER_KEY])], None, result)
    call = ToolCall(id=f"call_{uuid.uuid4().hex[:24]}", name=decision["name"], arguments=decision["arguments"])
    return _response([ToolCallBlock(id=call.id, name=call.name, input=call.arguments)], [call], result)


def _parse_decision(result: GenerationResult) -> dict[str, Any]:
    try:
        # strict=False: llama.cpp's JSON-schema grammar lets raw control characters into strings.
        return json.loads(result.text, strict=False)
    except ValueError as error:
        raise InvalidToolCallError(
            f"llamacpp: the reply is not complete JSON (finish_reason {result.finish_reason!r} after "
            f"{result.output_tokens} tokens); raise max_tokens or shorten the tool schemas",
            raw_arguments=result.text,
            provider="llamacpp",
            model=result.model_name,
        ) from error


def _response(content: list[Any], calls: list[ToolCall] | None, result: GenerationResult) -> ChatResponse:
    usage = Usage(
        input_tokens=result.input_tokens,
        output_tokens=result.output_tokens,
        total_tokens=result.input_tokens + result.output_tokens,
        cache_read_tokens=result.cached_tokens,
        cost_usd=Decimal(0),
    )
    finish_reason = "tool_calls" if calls else result.finish_reason
    return ChatResponse(
        content=content, tool_calls=calls, usage=usage, finish_reason=finish_reason, metadata={"model": result.model_name}
    )
