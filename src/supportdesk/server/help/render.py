"""Pages from Jinja2 templates (autoescape on) and article bodies from Markdown, safely.

Everything a customer or an agent wrote reaches a page escaped: templates autoescape, and an
article's Markdown is rendered by markdown-it with raw HTML off (a ``<script>`` in a body is shown
as text) and its link check on (``javascript:``, ``vbscript:``, ``file:`` and ``data:`` links are
left as text). The Content-Security-Policy of :mod:`.pages` is the second wall: no inline
script or style runs even if something slipped through.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

TEMPLATES = Path(__file__).parent / "templates"


@cache
def environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


@cache
def _markdown() -> Any:
    from markdown_it import MarkdownIt

    # commonmark with raw HTML off; tables and strikethrough as agents write them in the KB
    return MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
        ["table", "strikethrough"]
    )


def article_html(body: str) -> Markup:
    """An article's Markdown as HTML in which no markup of its own survives."""
    return Markup(_markdown().render(body))


def page(template: str, context: dict[str, Any]) -> str:
    return environment().get_template(template).render(context)


STATIC = Path(__file__).parent / "static"


@cache
def static_file(name: str) -> bytes:
    """One of the help center's two static files (the caller allows only those names)."""
    return (STATIC / name).read_bytes()
