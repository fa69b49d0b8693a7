"""Make text that came from outside safe to store and to show.

Applied once, where text enters (every mutation argument that carries text), so nothing
downstream has to trust it: control characters that could drive a terminal (ESC, C1, DEL and
the other C0 controls), bidi overrides that could disguise text, and zero-width characters
become visible ``⟨U+202E⟩`` marks; bodies over a cap are cut with a visible marker; payment
card numbers are reduced to their first six and last four digits before they are stored.

Every function here is idempotent: running it on its own output changes nothing, so the client
and the server can both apply it to the same mutation.
"""

from __future__ import annotations

import re

MAX_BODY_CHARS = 200_000
MAX_LINE_CHARS = 500

_BIDI = {0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)}
_INVISIBLE = {0x200B, 0x200C, 0x200D, 0x2060, 0x2061, 0x2062, 0x2063, 0x2064, 0xFEFF, 0x180E}
_SEPARATORS = {0x2028, 0x2029, 0xFFF9, 0xFFFA, 0xFFFB}


def _is_unsafe(code: int) -> bool:
    if code < 0x20:
        return code not in (0x09, 0x0A)
    if 0x7F <= code <= 0x9F:
        return True
    if 0xD800 <= code <= 0xDFFF:
        return True
    return code in _BIDI or code in _INVISIBLE or code in _SEPARATORS


_UNSAFE_TABLE: dict[int, str] = {
    code: f"⟨U+{code:04X}⟩"
    for code in (
        *range(0x00, 0x20),
        *range(0x7F, 0xA0),
        *_BIDI,
        *_INVISIBLE,
        *_SEPARATORS,
    )
    if _is_unsafe(code)
}
_UNSAFE_RE = re.compile("[" + "".join(re.escape(chr(code)) for code in sorted(_UNSAFE_TABLE)) + "\ud800-\udfff" + "]")

_CARD_CANDIDATE = re.compile(r"(?<![\d*])\d(?:[ -]?\d){12,18}(?![\d*])")


def unsafe_characters() -> re.Pattern[str]:
    """The characters :func:`make_visible` marks (one regular expression), for a caller that
    escapes them another way (JSON written to a terminal)."""
    return _UNSAFE_RE


def make_visible(text: str) -> str:
    """Replace every unsafe character with a visible ``⟨U+XXXX⟩`` mark."""

    def mark(match: re.Match[str]) -> str:
        code = ord(match.group())
        if 0xD800 <= code <= 0xDFFF:
            return "\ufffd"
        return _UNSAFE_TABLE[code]

    return _UNSAFE_RE.sub(mark, text)


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def redact_cards(text: str) -> str:
    """Reduce Luhn-valid 13–19 digit numbers to ``first6******last4``."""

    def redact(match: re.Match[str]) -> str:
        digits = re.sub(r"[ -]", "", match.group())
        if not 13 <= len(digits) <= 19 or not luhn_valid(digits):
            return match.group()
        return digits[:6] + "*" * (len(digits) - 10) + digits[-4:]

    return _CARD_CANDIDATE.sub(redact, text)


_MARKER_ROOM = 64


def truncate(text: str, cap: int, *, original_length: int | None = None) -> str:
    """Cut ``text`` so that, marker included, it is at most ``cap`` characters long."""
    original_length = max(original_length or 0, len(text))
    if original_length <= cap and len(text) <= cap:
        return text
    kept = max(cap - _MARKER_ROOM, 0)
    dropped = original_length - kept
    return text[:kept] + f"\n⟨truncated: {dropped:,} characters not stored⟩"


def sanitize_text(text: str, *, cap: int = MAX_BODY_CHARS, redact: bool = True) -> str:
    """A multi-line body: newlines normalised, unsafe characters visible, capped, cards redacted.

    A huge body is cut before the character scan, so a 20 MB mail costs no more than the cap.
    """
    original_length = len(text)
    if original_length > cap:
        text = text[:cap]
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = make_visible(text)
    if redact:
        text = redact_cards(text)
    return truncate(text, cap, original_length=original_length)


def sanitize_line(text: str, *, cap: int = MAX_LINE_CHARS, redact: bool = True) -> str:
    """A one-line value (subject, name, tag): like :func:`sanitize_text`, newlines become spaces."""
    text = text.replace("\r\n", " ").replace("\r", " ").replace("\n", " ")
    text = make_visible(text).strip()
    if redact:
        text = redact_cards(text)
    if len(text) > cap:
        text = text[: cap - 1] + "…"
    return text
