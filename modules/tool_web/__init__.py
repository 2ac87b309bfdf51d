"""Amplifier module tool-web: `web_search` (a configurable search backend) and `web_fetch`.

Config keys, backends and error codes: docs/modules/tool-web.md.
"""

from typing import Any

import httpx

from .backends import BACKENDS, SearchBackend, SearchHit, SearchRequest, backend_from_config
from .download import MAX_REDIRECTS
from .fetch import WebFetchTool
from .search import MAX_RESULTS_CEILING, WebSearchTool

__amplifier_module_type__ = "tool"
MODULE = "tool-web"
__all__ = ["mount", "BACKENDS", "SearchBackend", "SearchHit", "SearchRequest", "WebFetchTool", "WebSearchTool"]

DEFAULT_TIMEOUT = 20.0  # seconds per request, connect to last byte
DEFAULT_MAX_BYTES = 2_000_000  # bytes of a response body read at most
DEFAULT_MAX_RESULTS = 5  # search results when the call does not say
DEFAULT_USER_AGENT = "amplifier-foreman-tool-web/0.1"


async def mount(coordinator: Any, config: dict[str, Any] | None):
    """Mount `web_search` and `web_fetch`, sharing one httpx client; return the cleanup that closes it.

    Keys: `search_backend` (`searxng` | `brave`), `search_url`, `api_key`, `max_results`, `timeout`
    (seconds), `max_bytes`, `user_agent`.

    Raises:
        ValueError: for an unknown `search_backend`, or a `timeout`, `max_bytes` or `max_results`
            that is not positive.
    """
    config = config or {}
    backend = backend_from_config(config)
    timeout = _positive(config, "timeout", DEFAULT_TIMEOUT, float)
    max_bytes = _positive(config, "max_bytes", DEFAULT_MAX_BYTES)
    max_results = min(_positive(config, "max_results", DEFAULT_MAX_RESULTS), MAX_RESULTS_CEILING)
    client = httpx.AsyncClient(
        follow_redirects=True,
        max_redirects=MAX_REDIRECTS,
        timeout=timeout,
        headers={"User-Agent": config.get("user_agent", DEFAULT_USER_AGENT)},
    )
    for tool in (
        WebSearchTool(client, backend, max_results, max_bytes, timeout),
        WebFetchTool(client, max_bytes, timeout),
    ):
        await coordinator.mount("tools", tool, name=tool.name)
    return client.aclose


def _positive(config: dict[str, Any], key: str, default: float, kind: type = int) -> Any:
    value = kind(config.get(key, default))
    if value > 0:
        return value
    raise ValueError(f"{MODULE}: config {key} must be > 0, got {value!r}")
