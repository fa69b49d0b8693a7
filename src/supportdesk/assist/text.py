"""Customer text made ready for the models: safe, bounded, and stripped of what is not the ask.

Every model here reads text that came from outside. Before it does, the text loses terminal
control sequences and other invisible characters, markup tags, quoted earlier mail (``> …``
lines and "On … wrote:" tails) and signatures, and is cut to a bound — a multi-megabyte body
costs the same as a long email. Nothing here is shown to a user: display goes through the
console's and the CLI's own sanitising.
"""

from __future__ import annotations

import re
import unicodedata

#: Characters of one text the models read (about a long email); the rest never changes a result.
MAX_CHARS = 4000

_CONTROL = re.compile(r"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b\[[0-?]*[ -/]*[@-~]|\x1b.|[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\u180e\u061c]")
_VISIBLE_MARK = re.compile(r"⟨U\+[0-9A-F]{4,6}⟩")
_TAG = re.compile(r"</?[A-Za-z][^<>]{0,200}>|\[/?[@$a-z][^\[\]]{0,80}\]")
_QUOTED_TAIL = re.compile(
    r"^(?:On .{0,200} wrote:|Am .{0,200} schrieb .{0,120}:|Le .{0,200} a écrit ?:|El .{0,200} escribió:"
    r"|-{2,} ?Original Message ?-{2,}|From: .+)$",
    re.MULTILINE,
)
_SIGN_OFF = re.compile(
    r"^(?:thanks|thank you|best|best regards|kind regards|regards|cheers|sincerely|mit freundlichen grüßen|"
    r"viele grüße|danke|cordialement|merci|saludos|un saludo|gracias|cordiali saluti|grazie|obrigad[oa]|"
    r"met vriendelijke groet|groeten|med vänliga hälsningar|pozdrawiam|venlig hilsen)[,.!]*$",
    re.IGNORECASE,
)
#: Characters of the longest sign-off phrase above.
_SIGN_OFF_CHARS = 24
_SPACE = re.compile(r"[ \t\u00a0]+")
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?", re.UNICODE)


def clean(text: str | None, *, limit: int = MAX_CHARS) -> str:
    """The part of ``text`` a model should read: no controls, markup, quoted mail or signature.

    Works on a bounded prefix first, so a hostile 10 MB body costs no more than a long email."""
    if not text:
        return ""
    text = text[: limit * 4]
    # each pass only when its characters occur: most text is plain, and an index build cleans
    # every message of a million tickets
    if not text.replace("\n", " ").replace("\t", " ").isprintable():
        text = _CONTROL.sub(" ", text)
    if not text.isascii():
        text = _VISIBLE_MARK.sub(" ", text)
        text = _INVISIBLE.sub("", text)
        text = unicodedata.normalize("NFC", text)
    if "<" in text or "[" in text:
        text = _TAG.sub(" ", text)
    if " wrote:" in text or (":" in text and "\n" in text):
        quoted = _QUOTED_TAIL.search(text)
        if quoted and quoted.start() > 0:
            text = text[: quoted.start()]
    spaced = "  " in text or "\t" in text or "\u00a0" in text
    lines: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped[0] == ">":
            continue
        # a sign-off is a short line (the longest, "med vänliga hälsningar", has 22 letters):
        # an index build cleans every message of a million tickets, so long lines skip the regex
        if lines and len(stripped) <= _SIGN_OFF_CHARS + 8 and _SIGN_OFF.match(stripped):
            break
        lines.append(_SPACE.sub(" ", stripped) if spaced else stripped)
    return "\n".join(lines)[:limit].strip()


def words(text: str) -> list[str]:
    """Lower-cased words (letters only), for lexicons and overlap measures."""
    return [match.group().lower() for match in _WORD.finditer(text)]


_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+(?=[\"'(¿¡A-ZÀ-ÖØ-Þ0-9])|\n+")


def sentences(text: str) -> list[str]:
    """Sentences of a cleaned text: split after . ! ? and at line breaks, trimmed, non-empty."""
    return [part.strip() for part in _SENTENCE_END.split(text) if part and part.strip()]
