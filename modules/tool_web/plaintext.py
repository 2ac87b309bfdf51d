"""All the visible text of an HTML page: the fallback when trafilatura finds no main content."""

from html.parser import HTMLParser

_HIDDEN = frozenset({"script", "style", "noscript", "template", "svg"})
_BLOCKS = frozenset(
    "address article aside blockquote br dd div dl dt footer form h1 h2 h3 h4 h5 h6 header hr li "
    "main nav ol p pre section table td th title tr ul".split()
)


class _VisibleText(HTMLParser):
    """Collects text outside `_HIDDEN` elements, with a line break at each block boundary."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden_depth = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self._boundary(tag, +1)

    def handle_endtag(self, tag: str) -> None:
        self._boundary(tag, -1)

    def handle_data(self, data: str) -> None:
        if not self._hidden_depth:
            self.parts.append(data)

    def _boundary(self, tag: str, step: int) -> None:
        if tag in _HIDDEN:
            self._hidden_depth = max(0, self._hidden_depth + step)
        elif tag in _BLOCKS:
            self.parts.append("\n")


def visible_text(html: str) -> str:
    """The text of `html` minus scripts, styles and templates: one line per block, spaces collapsed."""
    parser = _VisibleText()
    parser.feed(html)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line)
