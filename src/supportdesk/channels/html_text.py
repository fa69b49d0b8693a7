"""HTML mail to plain text: libxml2 parses, a small sanitiser prunes, inscriptis lays out.

Only what a reader of the mail would see survives. The sanitiser walks the parsed tree once and
drops scripts, styles, the head, embedded objects and anything hidden (``hidden``,
``aria-hidden``, ``display:none``, ``visibility:hidden``, zero size or opacity) — hidden text is
how phishing mail hides what it really says, and no HTML sanitiser library has a rule for it. A
link becomes ``text <url>``; one whose scheme is not http, https or mailto (``javascript:``,
``data:``) keeps its text and loses its target. Then inscriptis turns the pruned tree into text
the way a browser lays it out (tables in columns, lists with bullets, block spacing).

Hostile input is bounded by the parser: libxml2 keeps at most 256 levels of nesting (deeper
content is dropped, as it would be invisible in any client) and needs no recursion of ours; the
caller caps the HTML's size before it gets here (``MailLimits.max_text_chars * 10``).
"""

from __future__ import annotations

import re
import textwrap
from typing import Any

_DROPPED = frozenset(
    {"script", "style", "head", "title", "template", "noscript", "object", "embed", "iframe", "frame", "frameset",
     "svg", "math", "applet", "audio", "video", "canvas", "select", "button", "input", "textarea", "meta", "link",
     "base"}
)  # fmt: skip
_HIDDEN_STYLE = re.compile(
    r"display\s*:\s*none|visibility\s*:\s*hidden|opacity\s*:\s*0(?:\.0+)?\s*(?:;|$|!)"
    r"|font-size\s*:\s*0(?:px|pt|em|rem|%)?\s*(?:;|$|!)|(?:max-)?height\s*:\s*0(?:px)?\s*(?:;|$|!)",
    re.IGNORECASE,
)
_SAFE_SCHEMES = ("http://", "https://", "mailto:")
_BLANK_RUNS = re.compile(r"\n{3,}")


def _hidden(element: Any) -> bool:
    if element.get("hidden") is not None:
        return True
    if (element.get("aria-hidden") or "").strip().lower() == "true":
        return True
    return bool(_HIDDEN_STYLE.search(element.get("style") or ""))


def _spell_out(link: Any) -> None:
    """``<a href=u>text</a>`` → ``text <u>``; an unsafe or missing target is dropped."""
    href = (link.get("href") or "").strip()
    for name in list(link.attrib):
        del link.attrib[name]
    if not href.lower().startswith(_SAFE_SCHEMES):
        return
    text = link.text_content().strip()
    if href == text or (href.lower().startswith("mailto:") and href[7:] == text):
        return
    suffix = f" <{href}>" if text or len(link) else f"<{href}>"
    if len(link):
        last = link[-1]
        last.tail = (last.tail or "") + suffix
    else:
        link.text = (link.text or "") + suffix


def sanitise(document: Any) -> None:
    """Prune ``document`` (an lxml tree) to what a reader sees, links spelled out."""
    doomed = [
        element
        for element in document.iter()
        if not isinstance(element.tag, str) or element.tag.lower() in _DROPPED or _hidden(element)
    ]
    for element in doomed:
        # emptied in place rather than removed: removing is linear in the number of siblings
        # (quadratic over a mail of 20,000 hidden spans); the text after it stays
        if isinstance(element.tag, str):
            element.clear(keep_tail=True)
            element.tag = "span"
    for link in document.iter("a", "area"):
        _spell_out(link)
    for image in document.iter("img"):
        alt = (image.get("alt") or "").strip()
        for name in list(image.attrib):
            del image.attrib[name]
        if alt:
            image.set("alt", alt)


def html_to_text(html: str) -> str:
    """The text a person reading ``html`` in a mail client would see, links spelled out."""
    import lxml.html
    from inscriptis import Inscriptis
    from inscriptis.css_profiles import CSS_PROFILES
    from inscriptis.model.config import ParserConfig
    from lxml.etree import ParserError

    if not html.strip():
        return ""
    parser = lxml.html.HTMLParser(
        encoding="utf-8", remove_comments=True, remove_pis=True, no_network=True, huge_tree=False
    )
    try:
        document = lxml.html.document_fromstring(html.encode("utf-8", "replace"), parser=parser)
    except (ParserError, ValueError):
        return ""
    sanitise(document)
    config = ParserConfig(css=CSS_PROFILES["strict"], display_images=True)
    text = Inscriptis(document, config).get_text()
    lines = [line.rstrip() for line in text.replace("\xa0", " ").split("\n")]
    return textwrap.dedent(_BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip("\n"))
