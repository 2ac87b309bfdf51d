"""A loopback server that speaks Anthropic's Messages API (POST /v1/messages, GET /v1/models).

Wire shapes follow the Messages API reference (docs.anthropic.com/en/api/messages and
/en/docs/build-with-claude/streaming): a JSON ``message`` object, or with ``"stream": true`` the
SSE sequence message_start, content_block_start / content_block_delta (text_delta,
input_json_delta) / content_block_stop per block, message_delta (stop_reason, output usage),
message_stop. Errors are ``{"type": "error", "error": {"type": ..., "message": ...}}`` with the
API's error type for each status (/en/api/errors).

Usage::

    with MessagesServer() as server:
        server.script(message(text("hi")), api_error(429, retry_after=1))
        ... AsyncAnthropic(base_url=server.base_url, api_key="test") ...
        server.requests[0].body["system"]
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.support import loopback

#: Models listed by GET /v1/models (ids, context window and output limit in tokens).
MODELS = [
    {"id": model_id, "display_name": name, "max_input_tokens": 200_000, "max_tokens": 64_000}
    for model_id, name in [("claude-sonnet-4-6", "Claude Sonnet 4.6"), ("claude-haiku-4-5", "Claude Haiku 4.5")]
]

#: Error ``type`` the Messages API sends with each HTTP status (/en/api/errors).
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


class MessagesServer(loopback.LoopbackServer):
    """Loopback Messages API: POST /v1/messages answered from the script, GET /v1/models fixed."""

    def __init__(self) -> None:
        super().__init__([("POST", "/v1/messages")], (Route("/v1/models", _list_models),))


async def _list_models(request: Request) -> JSONResponse:
    data = [{"type": "model", "created_at": "2025-09-29T00:00:00Z", "lifecycle": "active", **m} for m in MODELS]
    return JSONResponse({"data": data, "has_more": False, "first_id": data[0]["id"], "last_id": data[-1]["id"]})


def text(value: str) -> dict[str, Any]:
    """A ``text`` content block."""
    return {"type": "text", "text": value}


def tool_use(block_id: str, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """A ``tool_use`` content block (``arguments`` is the tool input object)."""
    return {"type": "tool_use", "id": block_id, "name": name, "input": arguments}


def usage(
    input_tokens: int = 10, output_tokens: int = 5, cache_read: int = 0, cache_write: int = 0
) -> dict[str, int]:
    """A Messages API ``usage`` object (token counts)."""
    return {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "cache_read_input_tokens": cache_read,
        "cache_creation_input_tokens": cache_write,
    }


@dataclass
class MessageReply:
    """A successful reply: JSON, or SSE events when the request has ``"stream": true``."""

    content: list[dict[str, Any]]
    stop_reason: str = "end_turn"
    usage: dict[str, int] = field(default_factory=usage)
    message_id: str = "msg_loopback_1"

    async def render(self, body: Any, server: loopback.ServerState) -> loopback.Rendered:
        whole = self._message(body["model"], self.content, self.stop_reason, self.usage)
        if not body.get("stream"):
            return loopback.Rendered(200, [json.dumps(whole).encode()])
        return loopback.Rendered(200, self._events(whole), media_type="text/event-stream")

    def _message(self, model: str, content: list, stop_reason: str | None, counts: dict) -> dict[str, Any]:
        return {
            "id": self.message_id,
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": content,
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": counts,
        }

    def _events(self, whole: dict[str, Any]) -> list[bytes]:
        start = self._message(whole["model"], [], None, {**self.usage, "output_tokens": 1})
        events = [_event("message_start", message=start), _event("ping")]
        for index, block in enumerate(self.content):
            events.extend(_block_events(index, block))
        delta = {"stop_reason": self.stop_reason, "stop_sequence": None}
        events.append(_event("message_delta", delta=delta, usage={"output_tokens": self.usage["output_tokens"]}))
        events.append(_event("message_stop"))
        return events


def _event(kind: str, **fields: Any) -> bytes:
    return loopback.sse(kind, {"type": kind, **fields})


def _block_events(index: int, block: dict[str, Any]) -> list[bytes]:
    if block["type"] == "text":
        empty = {"type": "text", "text": ""}
        deltas = [{"type": "text_delta", "text": piece} for piece in loopback.split_text(block["text"])]
    else:
        empty = {**block, "input": {}}
        pieces = loopback.split_text(json.dumps(block["input"]))
        deltas = [{"type": "input_json_delta", "partial_json": piece} for piece in pieces]
    frames = [_event("content_block_start", index=index, content_block=empty)]
    frames += [_event("content_block_delta", index=index, delta=delta) for delta in deltas]
    frames.append(_event("content_block_stop", index=index))
    return frames


def message(
    *content: dict[str, Any], stop_reason: str | None = None, counts: dict[str, int] | None = None
) -> MessageReply:
    """A reply with these content blocks; ``stop_reason`` defaults to tool_use when a tool is used."""
    uses_tool = any(block["type"] == "tool_use" for block in content)
    reason = stop_reason or ("tool_use" if uses_tool else "end_turn")
    return MessageReply(list(content), reason, counts or usage())


def api_error(
    status: int, message_text: str = "scripted failure", retry_after: float | None = None
) -> loopback.JsonReply:
    """An error reply with the Messages API's error body for ``status``; optional Retry-After (seconds)."""
    payload = {"type": "error", "error": {"type": ERROR_TYPES.get(status, "api_error"), "message": message_text}}
    return loopback.JsonReply(status, payload, loopback.retry_after_header(retry_after))
