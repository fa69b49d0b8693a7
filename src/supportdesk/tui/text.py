"""Customer text made safe to draw, whatever is in the store.

Ingest already makes control characters visible, but rows can arrive by other roads (an old
workspace, a bulk import, a sync peer), so the console applies the same rule again when it
draws: no byte that could drive the terminal is ever written. Text is then only ever wrapped in
``Content``/``Text`` or drawn as segments, never parsed as markup.
"""

from __future__ import annotations

from supportdesk.domain.text_safety import make_visible

MAX_LINE = 400


def safe(text: str | None) -> str:
    """A multi-line body with every unsafe character made visible and tabs expanded."""
    if not text:
        return ""
    return make_visible(text.replace("\r\n", "\n").replace("\r", "\n")).expandtabs(4)


def safe_line(text: str | None, *, cap: int = MAX_LINE) -> str:
    """A one-line value (subject, name): newlines become spaces, long values are cut."""
    if not text:
        return ""
    if len(text) > cap * 4:
        text = text[: cap * 4]
    flat = text.replace("\r\n", " ").replace("\n", " ").replace("\r", " ").replace("\t", " ")
    flat = make_visible(flat)
    return flat if len(flat) <= cap else flat[: cap - 1] + "…"
