"""One bounded HTTP GET: a total deadline, a byte cap, and every failure as a `WebError`."""

import asyncio
from dataclasses import dataclass

import httpx

from .errors import WebError

MAX_REDIRECTS = 5


@dataclass(frozen=True)
class Download:
    """A successful (< 400) response: `url` after redirects, `media_type` (lower case, no parameters),
    `charset` (from the Content-Type, if any), `body` (at most the cap), and `truncated` when the
    body was longer than the cap."""

    url: str
    media_type: str
    charset: str | None
    body: bytes
    truncated: bool


def check_url(url: object) -> httpx.URL:
    """`url` parsed, if it is an http or https URL with a host.

    Raises:
        WebError: `invalid_url`.
    """
    try:
        parsed = httpx.URL(url) if isinstance(url, str) else None
    except httpx.InvalidURL:
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        raise WebError("invalid_url", f"{url!r} is not an http(s) URL with a host.")
    return parsed


async def download(
    client: httpx.AsyncClient,
    url: str,
    *,
    max_bytes: int,
    timeout: float,
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> Download:
    """GET `url`, following redirects, reading at most `max_bytes` of the body within `timeout` seconds
    in total (connect, redirects and body together).

    Raises:
        WebError: `network_unreachable` (connection or name resolution failed; the host is named),
            `timeout`, `invalid_url` (also a redirect to a non-http(s) URL), `http_error` (the final
            answer is 4xx or 5xx), `fetch_failed` (any other transport or protocol failure, too many
            redirects).
    """
    try:
        async with asyncio.timeout(timeout):
            async with client.stream("GET", url, params=params, headers=headers) as response:
                body, truncated = await _read_capped(response, max_bytes)
    except (TimeoutError, httpx.TimeoutException) as error:
        raise WebError("timeout", f"{_host(error, url)} did not answer within {timeout:g} s.") from None
    except httpx.ConnectError as error:
        raise WebError("network_unreachable", f"Cannot reach {_host(error, url)}: {_reason(error)}.") from None
    except (httpx.UnsupportedProtocol, httpx.InvalidURL) as error:
        raise WebError("invalid_url", f"Cannot fetch {url}: {_reason(error)}.") from None
    except httpx.HTTPError as error:
        raise WebError("fetch_failed", f"Fetching {url} failed: {type(error).__name__}: {_reason(error)}.") from None
    if response.status_code >= 400:
        raise WebError("http_error", f"{response.url} answered HTTP {response.status_code}.")
    media_type = response.headers.get("content-type", "").partition(";")[0].strip().lower()
    return Download(str(response.url), media_type, response.charset_encoding, body, truncated)


async def _read_capped(response: httpx.Response, max_bytes: int) -> tuple[bytes, bool]:
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) > max_bytes:
            return bytes(body[:max_bytes]), True
    return bytes(body), False


def _reason(error: Exception) -> str:
    return str(error).rstrip(".") or type(error).__name__


def _host(error: Exception, url: str) -> str:
    """The host (and port, if explicit) the failed request went to: after redirects when known."""
    try:
        target = error.request.url  # type: ignore[attr-defined]
    except (AttributeError, RuntimeError):
        target = httpx.URL(url)
    return f"{target.host}:{target.port}" if target.port else target.host
