"""A loopback server that speaks OpenAI Chat Completions (POST /v1/chat/completions, GET /v1/models).

Wire shapes follow the API reference (platform.openai.com/docs/api-reference/chat): a JSON
``chat.completion``, or with ``"stream": true`` SSE ``data:`` frames of ``chat.completion.chunk``
(role, content deltas, tool_call deltas by ``index`` with the arguments string in pieces, a
final chunk with ``finish_reason``, a usage chunk with empty ``choices`` when
``stream_options.include_usage`` is set) ending with ``data: [DONE]``. Errors are
``{"error": {"message", "type", "param", "code"}}``.

Usage::

    with ChatCompletionsServer() as server:
        server.script(completion("hi"), api_error(429, retry_after=1))
        ... AsyncOpenAI(base_url=server.base_url + "/v1", api_key="test") ...
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.support import loopback

#: Model ids listed by GET /v1/models.
MODELS = ["qwen2.5-coder:7b", "llama3.1:8b"]

#: Error ``type`` OpenAI sends with each HTTP status.
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    403: "permission_error",
    404: "invalid_request_error",
    429: "rate_limit_error",
    500: "server_error",
    503: "server_error",
}


class ChatCompletionsServer(loopback.LoopbackServer):
    """Loopback Chat Completions: POST /v1/chat/completions from the script, GET /v1/models fixed.

    ``api_url`` (``base_url`` + "/v1") is what the OpenAI SDK's ``base_url`` expects.
    """

    def __init__(self) -> None:
        super().__init__([("POST", "/v1/chat/completions")], (Route("/v1/models", _list_models),))

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/v1"


async def _list_models(request: Request) -> JSONResponse:
    data = [{"id": m, "object": "model", "created": 1_700_000_000, "owned_by": "loopback"} for m in MODELS]
    return JSONResponse({"object": "list", "data": data})


def tool_call(call_id: str, name: str, arguments: dict[str, Any] | str) -> dict[str, Any]:
    """A function tool call; ``arguments`` is encoded as JSON unless already a string."""
    encoded = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": encoded}}


def usage(prompt: int = 10, completion_tokens: int = 5, cached: int = 0) -> dict[str, Any]:
    """A Chat Completions ``usage`` object (token counts)."""
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": cached},
    }


@dataclass
class CompletionReply:
    """A successful reply: JSON, or SSE chunks when the request has ``"stream": true``."""

    content: str | None
    tool_calls: list[dict[str, Any]]
    finish_reason: str
    usage: dict[str, Any] = field(default_factory=usage)
    completion_id: str = "chatcmpl-loopback-1"

    async def render(self, body: Any, server: loopback.ServerState) -> loopback.Rendered:
        if not body.get("stream"):
            return loopback.Rendered(200, [json.dumps(self._completion(body["model"])).encode()])
        return loopback.Rendered(200, self._chunks(body), media_type="text/event-stream")

    def _completion(self, model: str) -> dict[str, Any]:
        message = {"role": "assistant", "content": self.content}
        if self.tool_calls:
            message["tool_calls"] = self.tool_calls
        choice = {"index": 0, "message": message, "finish_reason": self.finish_reason, "logprobs": None}
        return {**self._envelope(model, "chat.completion"), "choices": [choice], "usage": self.usage}

    def _envelope(self, model: str, kind: str) -> dict[str, Any]:
        return {"id": self.completion_id, "object": kind, "created": 1_700_000_000, "model": model}

    def _chunks(self, body: dict[str, Any]) -> list[bytes]:
        envelope = self._envelope(body["model"], "chat.completion.chunk")
        deltas = [{"role": "assistant", "content": ""}]
        deltas += [{"content": piece} for piece in loopback.split_text(self.content)] if self.content else []
        for index, call in enumerate(self.tool_calls):
            deltas += _tool_call_deltas(index, call)
        frames = [_chunk(envelope, delta, None) for delta in deltas]
        frames.append(_chunk(envelope, {}, self.finish_reason))
        if body.get("stream_options", {}).get("include_usage"):
            frames.append(loopback.sse(None, {**envelope, "choices": [], "usage": self.usage}))
        frames.append(loopback.sse(None, "[DONE]"))
        return frames


def _tool_call_deltas(index: int, call: dict[str, Any]) -> list[dict[str, Any]]:
    name, arguments = call["function"]["name"], call["function"]["arguments"]
    head = {"index": index, "id": call["id"], "type": "function", "function": {"name": name, "arguments": ""}}
    tail = [{"index": index, "function": {"arguments": piece}} for piece in loopback.split_text(arguments)]
    return [{"tool_calls": [delta]} for delta in [head, *tail]]


def _chunk(envelope: dict[str, Any], delta: dict[str, Any], finish_reason: str | None) -> bytes:
    choice = {"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}
    return loopback.sse(None, {**envelope, "choices": [choice]})


def completion(
    content: str | None = None, *tool_calls: dict[str, Any], counts: dict[str, Any] | None = None
) -> CompletionReply:
    """A reply with this text and tool calls; finish_reason is tool_calls when there are any."""
    finish = "tool_calls" if tool_calls else "stop"
    return CompletionReply(content, list(tool_calls), finish, counts or usage())


def api_error(
    status: int, message_text: str = "scripted failure", retry_after: float | None = None, code: str | None = None
) -> loopback.JsonReply:
    """An error reply with OpenAI's error body for ``status``; optional Retry-After (seconds)."""
    error = {"message": message_text, "type": ERROR_TYPES.get(status, "server_error"), "param": None, "code": code}
    return loopback.JsonReply(status, {"error": error}, loopback.retry_after_header(retry_after))
