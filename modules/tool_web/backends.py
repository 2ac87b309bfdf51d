"""Search backends: each says how to ask one search API and how to read its JSON answer.

A backend is a small class built from the module config with `request(query, count)` returning the
GET to send and `hits(payload)` turning the decoded JSON into `SearchHit`s; the HTTP, the limits and
the errors are the tool's. Add one by writing such a class and naming it in `BACKENDS`.
"""

import os
from dataclasses import dataclass
from typing import Any, Protocol

from .errors import WebError


@dataclass(frozen=True)
class SearchHit:
    """One search result: `title`, `url`, `snippet` (plain text or light HTML)."""

    title: str
    url: str
    snippet: str


@dataclass(frozen=True)
class SearchRequest:
    """The GET a backend wants sent: `url`, query `params`, extra `headers`."""

    url: str
    params: dict[str, str]
    headers: dict[str, str]


class SearchBackend(Protocol):
    """What `WebSearchTool` needs from a backend."""

    name: str

    def request(self, query: str, count: int) -> SearchRequest:
        """The request for `query`, asking for about `count` results; raises `WebError` when unusable."""
        ...

    def hits(self, payload: Any) -> list[SearchHit]:
        """The results in a decoded JSON answer; raises KeyError/TypeError/AttributeError when malformed."""
        ...


class SearxngBackend:
    """A SearXNG instance's JSON API (`GET <search_url>?q=...&format=json`; the instance must list
    `json` under `search.formats` in its settings.yml). Config: `search_url`."""

    name = "searxng"
    default_url = "http://127.0.0.1:8888/search"

    def __init__(self, config: dict[str, Any]) -> None:
        self.url = config.get("search_url") or self.default_url

    def request(self, query: str, count: int) -> SearchRequest:
        return SearchRequest(self.url, {"q": query, "format": "json"}, {})

    def hits(self, payload: Any) -> list[SearchHit]:
        return [SearchHit(row["title"], row["url"], row.get("content") or "") for row in payload["results"]]


class BraveBackend:
    """The Brave Search API (`GET <search_url>?q=...&count=N` with header `X-Subscription-Token`).
    Config: `api_key` (`${VAR}` references are expanded; default `${BRAVE_API_KEY}`), `search_url`."""

    name = "brave"
    default_url = "https://api.search.brave.com/res/v1/web/search"
    max_count = 20  # the API's ceiling for `count`

    def __init__(self, config: dict[str, Any]) -> None:
        self.url = config.get("search_url") or self.default_url
        key = os.path.expandvars(config.get("api_key") or "${BRAVE_API_KEY}")
        self.api_key = "" if "$" in key else key

    def request(self, query: str, count: int) -> SearchRequest:
        if not self.api_key:
            raise WebError("search_not_configured", "The brave backend needs config api_key or BRAVE_API_KEY.")
        headers = {"X-Subscription-Token": self.api_key, "Accept": "application/json"}
        return SearchRequest(self.url, {"q": query, "count": str(min(count, self.max_count))}, headers)

    def hits(self, payload: Any) -> list[SearchHit]:
        rows = payload.get("web", {}).get("results", [])
        return [SearchHit(row["title"], row["url"], row.get("description") or "") for row in rows]


BACKENDS: dict[str, type[SearchBackend]] = {"searxng": SearxngBackend, "brave": BraveBackend}


def backend_from_config(config: dict[str, Any]) -> SearchBackend:
    """The backend named by config `search_backend` (default `searxng`).

    Raises:
        ValueError: for an unknown name (at mount time, so a bad mount plan fails loudly).
    """
    name = config.get("search_backend", "searxng")
    if name not in BACKENDS:
        raise ValueError(f"tool-web: unknown search_backend {name!r}; known: {', '.join(BACKENDS)}")
    return BACKENDS[name](config)
