"""`web_fetch`: download a page and return its readable text."""

import asyncio
from dataclasses import dataclass
from typing import Any

import httpx

from .base import WebTool
from .download import check_url, download
from .extract import readable_text
from .inputs import bounded_int

DEFAULT_MAX_CHARS = 20_000  # characters of text returned when `max_chars` is not given
MAX_CHARS_CEILING = 200_000


@dataclass
class WebFetchTool(WebTool):
    """Fetches `url` (http/https only, redirects followed) and returns `URL: <final url>`, a blank
    line and the page's readable text (`extract.py`), cut to `max_chars` characters with a note.

    Errors: `invalid_input`, `invalid_url`, `network_unreachable` (the host is named), `timeout`,
    `http_error` (4xx/5xx), `unsupported_content`, `fetch_failed`.
    """

    client: httpx.AsyncClient
    max_bytes: int
    timeout: float

    name = "web_fetch"
    description = "Fetch an http(s) URL and return its readable text."
    input_schema = {
        "type": "object",
        "properties": {"url": {"type": "string"}, "max_chars": {"type": "integer"}},
        "required": ["url"],
    }

    async def run(self, input: dict[str, Any]) -> str:
        max_chars = bounded_int(input, "max_chars", DEFAULT_MAX_CHARS, MAX_CHARS_CEILING)
        url = str(check_url(input.get("url")))
        page = await download(self.client, url, max_bytes=self.max_bytes, timeout=self.timeout)
        text = await asyncio.to_thread(readable_text, page)
        notes = [f"[body cut at {self.max_bytes} bytes]"] if page.truncated else []
        if len(text) > max_chars:
            notes.append(f"[text cut at {max_chars} of {len(text)} characters]")
            text = text[:max_chars]
        return "\n".join([f"URL: {page.url}", "", text or "[no readable text]", *notes])
