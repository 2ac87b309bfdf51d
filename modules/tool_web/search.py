"""`web_search`: ask the configured search backend, return a numbered list of results."""

import html
import json
import re
from dataclasses import dataclass
from typing import Any

import httpx

from .backends import SearchBackend, SearchHit
from .base import WebTool
from .download import download
from .errors import WebError
from .inputs import bounded_int

MAX_RESULTS_CEILING = 20  # the most results one call may ask for
_TAGS = re.compile(r"<[^>]+>")


@dataclass
class WebSearchTool(WebTool):
    """Searches with `backend` over `client`; `max_results` is the default count (1-20).

    Output: `N. title`, then the URL and the snippet indented, per result; `[no results]` when empty.
    Errors: `invalid_input`, `search_not_configured`, `network_unreachable` (the backend's host is
    named), `timeout`, `http_error` (the backend answered 4xx/5xx), `search_failed` (not the JSON
    expected), `fetch_failed`, `invalid_url` (a bad `search_url`).
    """

    client: httpx.AsyncClient
    backend: SearchBackend
    max_results: int
    max_bytes: int
    timeout: float

    name = "web_search"
    description = "Search the web. Returns titles, URLs and snippets."
    input_schema = {
        "type": "object",
        "properties": {"query": {"type": "string"}, "max_results": {"type": "integer"}},
        "required": ["query"],
    }

    async def run(self, input: dict[str, Any]) -> str:
        hits = await self._search(input)
        return "\n".join(_format(number, hit) for number, hit in enumerate(hits, 1)) or "[no results]"

    async def _search(self, input: dict[str, Any]) -> list[SearchHit]:
        query = input.get("query")
        if not isinstance(query, str) or not query.strip():
            raise WebError("invalid_input", "'query' is required and must be a non-empty string.")
        count = bounded_int(input, "max_results", self.max_results, MAX_RESULTS_CEILING)
        request = self.backend.request(query, count)
        answer = await download(
            self.client, request.url, params=request.params, headers=request.headers,
            max_bytes=self.max_bytes, timeout=self.timeout,
        )
        try:
            return self.backend.hits(json.loads(answer.body))[:count]
        except (ValueError, KeyError, TypeError, AttributeError):
            message = f"The {self.backend.name} backend at {answer.url} did not answer the JSON expected."
            raise WebError("search_failed", message) from None


def _format(number: int, hit: SearchHit) -> str:
    snippet = html.unescape(_TAGS.sub("", hit.snippet)).strip()
    return f"{number}. {hit.title}\n   {hit.url}" + (f"\n   {snippet}" if snippet else "")
