"""Readable text from a downloaded page: trafilatura for HTML, the body itself for text types."""

import trafilatura

from .download import Download
from .errors import WebError
from .plaintext import visible_text

_HTML_TYPES = ("text/html", "application/xhtml+xml")
_TEXT_TYPES = ("application/json", "application/xml", "application/javascript")


def readable_text(page: Download) -> str:
    """The page's main text.

    HTML: trafilatura's main-content extraction, or, when that finds nothing, all of the page's
    visible text (`plaintext.visible_text`). `text/*`, JSON, XML and JavaScript: the body decoded
    (the Content-Type's charset, else UTF-8; bad bytes replaced). CPU-bound: call it in a thread.

    Raises:
        WebError: `unsupported_content` for any other media type (images, PDFs, archives...).
    """
    media = page.media_type
    if media in _HTML_TYPES or (not media and page.body.lstrip()[:1] == b"<"):
        found = trafilatura.extract(page.body, url=page.url, include_comments=False)
        return (found or visible_text(_decoded(page))).strip()
    if media.startswith("text/") or media in _TEXT_TYPES or media.endswith(("+json", "+xml")):
        return _decoded(page).strip()
    raise WebError("unsupported_content", f"{page.url} is {media or 'of unknown type'}, not HTML or text.")


def _decoded(page: Download) -> str:
    """The body as text: the Content-Type's charset if Python knows it, else UTF-8; bad bytes replaced."""
    try:
        return page.body.decode(page.charset or "utf-8", errors="replace")
    except LookupError:
        return page.body.decode("utf-8", errors="replace")
