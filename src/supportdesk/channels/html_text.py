"""HTML mail to plain text, with the standard library's HTML parser.

Only what a reader of the mail would see survives: scripts, styles, the head and anything hidden
(``hidden``, ``aria-hidden``, ``display:none``, ``visibility:hidden``, zero size or opacity) are
dropped — hidden text is how phishing mail hides what it really says. A link becomes
``text <url>``; a link whose scheme is not http, https or mailto (``javascript:``, ``data:``)
keeps its text and loses its target.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_DROPPED = frozenset({"script", "style", "head", "title", "template", "noscript", "object", "iframe", "svg", "math"})
_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr"}
)
_BLOCK = frozenset(
    {
        "address", "article", "aside", "blockquote", "div", "dl", "dt", "dd", "fieldset", "figure", "footer",
        "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "main", "nav", "ol", "p", "pre", "section",
        "table", "tr", "ul",
    }
)  # fmt: skip
_HIDDEN_STYLE = re.compile(
    r"display\s*:\s*none|visibility\s*:\s*hidden|opacity\s*:\s*0(?:\.0+)?\s*(?:;|$)"
    r"|font-size\s*:\s*0(?:px|pt|em|rem|%)?\s*(?:;|$)|(?:max-)?height\s*:\s*0(?:px)?\s*(?:;|$)",
    re.IGNORECASE,
)
_SAFE_SCHEMES = ("http://", "https://", "mailto:")
MAX_DEPTH = 256


def _hidden(attrs: dict[str, str | None]) -> bool:
    if "hidden" in attrs:
        return True
    if (attrs.get("aria-hidden") or "").strip().lower() == "true":
        return True
    return bool(_HIDDEN_STYLE.search(attrs.get("style") or ""))


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.stack: list[tuple[str, bool]] = []  # (tag, invisible)
        self.links: list[tuple[str | None, int]] = []  # (safe href, position in out)

    @property
    def invisible(self) -> bool:
        return bool(self.stack) and self.stack[-1][1]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag in _VOID:
            if not self.invisible and tag in ("br", "hr"):
                self.out.append("\n")
            if not self.invisible and tag == "img" and not _hidden(values) and (values.get("alt") or "").strip():
                self.out.append(f"[{values['alt']}]")
            return
        invisible = self.invisible or tag in _DROPPED or _hidden(values)
        if len(self.stack) >= MAX_DEPTH:
            invisible = True
        self.stack.append((tag, invisible))
        if invisible:
            return
        if tag in _BLOCK:
            self.out.append("\n")
        if tag == "li":
            self.out.append("\n- ")
        if tag == "a":
            href = (values.get("href") or "").strip()
            self.links.append((href if href.lower().startswith(_SAFE_SCHEMES) else None, len(self.out)))
        if tag in ("td", "th"):
            self.out.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if not any(open_tag == tag for open_tag, _ in self.stack):
            return
        while self.stack:
            open_tag, invisible = self.stack.pop()
            if not invisible:
                self._close(open_tag)
            if open_tag == tag:
                break

    def _close(self, tag: str) -> None:
        if tag == "a" and self.links:
            href, start = self.links.pop()
            text = "".join(self.out[start:]).strip()
            if href and href.lower().startswith("mailto:") and href[7:] == text:
                return
            if href and href != text:
                self.out.append(f" <{href}>" if text else f"<{href}>")
        elif tag in _BLOCK:
            self.out.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.invisible:
            self.out.append(data)

    def text(self) -> str:
        while self.stack:
            open_tag, invisible = self.stack.pop()
            if not invisible:
                self._close(open_tag)
        raw = "".join(self.out).replace("\xa0", " ")
        lines = [re.sub(r"[ \t\r\f\v]+", " ", line).strip() for line in raw.split("\n")]
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def html_to_text(html: str) -> str:
    """The text a person reading ``html`` in a mail client would see, links spelled out."""
    collector = _TextCollector()
    collector.feed(html)
    collector.close()
    return collector.text()
