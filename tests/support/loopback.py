"""A scripted HTTP server on 127.0.0.1 for wire-level tests of LLM providers.

The server is a Starlette app served by uvicorn in a background thread, on a socket bound to
port 0 before the thread starts (so ``base_url`` is valid at once: connections wait in the
listen backlog until uvicorn accepts them; no startup polling). Tests drive the real SDKs at it
through their ``base_url`` option; nothing leaves the loopback interface.

Per test, the server is scripted with a queue of ``Reply`` objects (one popped per request to a
scripted route) and records every request it receives (``RecordedRequest``), so tests can assert
on the bodies and headers the SDKs sent, retry counts and arrival times.

Replies shared by every protocol live here: ``JsonReply`` (any status, body and headers),
``Stall`` (answer late, to provoke client timeouts), ``DropConnection`` (send part of a reply,
then close the socket) and ``AwaitInFlight`` (hold a request until N are in flight, to observe
client-side concurrency limits). Protocol servers (``messages_server``, ``chat_completions_server``)
add their routes and reply builders on top.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

HOLD_LIMIT = 10.0  # seconds: the longest a Stall or AwaitInFlight holds a request before giving up


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it.

    ``headers`` has lower-case names; ``body`` is the parsed JSON body (None when empty);
    ``received_at`` is ``time.monotonic()`` in seconds when the server read the request.
    """

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    received_at: float


@dataclass
class Rendered:
    """A reply ready to send: status, headers, media type and the body as chunks of bytes.

    More than one chunk is sent with chunked transfer encoding, one chunk per write (SSE).
    ``drop`` closes the connection after the chunks, before the body is complete.
    """

    status: int
    chunks: list[bytes]
    media_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False


class ServerState(Protocol):
    """What a reply may use while it is rendered (the running ``LoopbackServer``)."""

    closing: asyncio.Event
    in_flight: int
    in_flight_changed: asyncio.Condition


class Reply(Protocol):
    """A scripted answer to one request; ``body`` is the request's parsed JSON body."""

    async def render(self, body: Any, server: ServerState) -> Rendered: ...


@dataclass
class JsonReply:
    """Answer with ``status`` and the JSON ``payload`` (any protocol's error or success body)."""

    status: int
    payload: Any
    headers: dict[str, str] = field(default_factory=dict)

    async def render(self, body: Any, server: ServerState) -> Rendered:
        return Rendered(self.status, [json.dumps(self.payload).encode()], headers=self.headers)


@dataclass
class Stall:
    """Hold the request for ``seconds`` (or until the server stops), then send ``then``."""

    seconds: float
    then: Reply

    async def render(self, body: Any, server: ServerState) -> Rendered:
        try:
            await asyncio.wait_for(server.closing.wait(), self.seconds)
        except asyncio.TimeoutError:
            pass
        return await self.then.render(body, server)


@dataclass
class DropConnection:
    """Send the first ``keep`` chunks of ``reply`` (or half its only chunk), then close the socket.

    The client sees a body cut short: a JSON reply becomes an incomplete read, an SSE stream
    ends mid-event sequence without its final events.
    """

    reply: Reply
    keep: int = 1

    async def render(self, body: Any, server: ServerState) -> Rendered:
        rendered = await self.reply.render(body, server)
        chunks = rendered.chunks
        if len(chunks) == 1:
            kept = [chunks[0][: len(chunks[0]) // 2]]
        else:
            kept = chunks[: self.keep]
        return Rendered(rendered.status, kept, rendered.media_type, rendered.headers, drop=True)


@dataclass
class AwaitInFlight:
    """Hold the request until ``count`` requests are in flight at once, then send ``then``.

    Gives up after ``HOLD_LIMIT`` seconds (only when a client never reaches ``count``).
    """

    count: int
    then: Reply

    async def render(self, body: Any, server: ServerState) -> Rendered:
        async with server.in_flight_changed:
            await asyncio.wait_for(
                server.in_flight_changed.wait_for(lambda: server.in_flight >= self.count), HOLD_LIMIT
            )
        return await self.then.render(body, server)


class ConnectionDropped(Exception):
    """Raised inside the server to make uvicorn close the socket mid-response (fault injection)."""


class LoopbackServer:
    """Scripted HTTP server on 127.0.0.1:<free port>; use as a context manager.

    Attributes:
        requests: every request received on a scripted route, in arrival order.
        max_in_flight: the most scripted requests the server was handling at once.
    """

    def __init__(self, scripted_routes: list[tuple[str, str]], extra_routes: tuple[Route, ...] = ()) -> None:
        """``scripted_routes``: (method, path) pairs answered from the reply queue;
        ``extra_routes``: fixed Starlette routes (e.g. a model list).
        """
        self.requests: list[RecordedRequest] = []
        self.max_in_flight = 0
        self.in_flight = 0
        self._replies: deque[Reply] = deque()
        routes = [Route(path, self._scripted, methods=[method]) for method, path in scripted_routes]
        self._app = Starlette(routes=[*routes, *extra_routes])
        self._socket = socket.create_server(("127.0.0.1", 0))
        self._server = uvicorn.Server(
            uvicorn.Config(self._app, log_level="critical", access_log=False, lifespan="off")
        )
        self._thread = threading.Thread(target=self._run, name="loopback-server", daemon=True)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_ready = threading.Event()
        self.closing = asyncio.Event()
        self.in_flight_changed = asyncio.Condition()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``: the server's root URL."""
        host, port = self._socket.getsockname()
        return f"http://{host}:{port}"

    def script(self, *replies: Reply) -> None:
        """Queue replies; each request to a scripted route consumes the next one."""
        self._replies.extend(replies)

    def __enter__(self) -> LoopbackServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.should_exit = True
        if self._loop_ready.wait(HOLD_LIMIT):
            self._loop.call_soon_threadsafe(self.closing.set)
        self._thread.join()
        self._socket.close()

    def _run(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._loop_ready.set()
        await self._server.serve(sockets=[self._socket])

    async def _scripted(self, request: Request) -> Response:
        raw = await request.body()
        self.requests.append(
            RecordedRequest(
                method=request.method,
                path=request.url.path,
                headers={k.lower(): v for k, v in request.headers.items()},
                body=json.loads(raw) if raw else None,
                received_at=time.monotonic(),
            )
        )
        await self._count_in_flight(+1)
        try:
            reply = self._replies.popleft() if self._replies else _UNSCRIPTED
            rendered = await reply.render(self.requests[-1].body, self)
        finally:
            await self._count_in_flight(-1)
        return _to_response(rendered)

    async def _count_in_flight(self, delta: int) -> None:
        async with self.in_flight_changed:
            self.in_flight += delta
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self.in_flight_changed.notify_all()


_UNSCRIPTED = JsonReply(599, {"error": "the loopback server has no scripted reply left"})


def _to_response(rendered: Rendered) -> Response:
    if not rendered.drop and len(rendered.chunks) == 1:
        return Response(rendered.chunks[0], rendered.status, rendered.headers, rendered.media_type)
    return StreamingResponse(
        _stream(rendered), rendered.status, rendered.headers, rendered.media_type
    )


async def _stream(rendered: Rendered) -> AsyncIterator[bytes]:
    for chunk in rendered.chunks:
        yield chunk
    if rendered.drop:
        raise ConnectionDropped("fault injection: socket closed mid-response")


def sse(event: str | None, data: Any) -> bytes:
    """One Server-Sent Events frame: optional ``event:`` line, a JSON (or raw str) ``data:`` line."""
    payload = data if isinstance(data, str) else json.dumps(data)
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {payload}\n\n".encode()


def retry_after_header(seconds: float | None) -> dict[str, str]:
    """``{"retry-after": "<seconds>"}``, or no header when ``seconds`` is None."""
    return {} if seconds is None else {"retry-after": f"{seconds:g}"}


def split_text(text: str, pieces: int = 3) -> list[str]:
    """Split ``text`` into up to ``pieces`` non-empty consecutive parts (for streamed deltas)."""
    size = max(1, -(-len(text) // pieces))
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]
