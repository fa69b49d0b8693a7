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


#: The most of an article's first paragraph a KB snippet inserts into a reply.
SNIPPET_CAP = 800


def first_paragraph(markdown: str | None, *, cap: int = SNIPPET_CAP) -> str:
    """An article's first paragraph of prose, for the KB snippet key: headings (``# …`` and
    underlined ones), front matter, HTML comments and fenced code are passed over — an article
    starts with its title as a heading, and the customer needs the words after it. The
    paragraph's lines are joined as Markdown would; text made safe (:func:`safe`)."""
    lines = safe(markdown).split("\n")
    index = 0
    if lines and lines[0].strip() == "---":  # front matter
        end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
        index = end + 1 if end is not None else 0
    paragraph: list[str] = []
    in_fence = in_comment = False
    for line in lines[index:]:
        text = line.strip()
        if in_fence or text.startswith(("```", "~~~")):
            in_fence = in_fence != text.startswith(("```", "~~~"))
            if paragraph:
                break
            continue
        if in_comment or text.startswith("<!--"):
            in_comment = "-->" not in text
            continue
        underline = bool(text) and set(text) <= {"="} | {"-"} and len(text) >= 3
        if underline:  # under one line: that line was a heading; otherwise a rule
            if len(paragraph) == 1:
                paragraph = []
                continue
            if paragraph:
                break
            continue
        if not text or text.startswith("#"):
            if paragraph:
                break
            continue
        paragraph.append(text)
    joined = " ".join(paragraph)
    return joined if len(joined) <= cap else joined[: cap - 1].rstrip() + "…"
