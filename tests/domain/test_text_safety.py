"""Hostile text through sanitize: visible, capped, redacted, and idempotent."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from supportdesk.domain.text_safety import (
    MAX_BODY_CHARS,
    luhn_valid,
    redact_cards,
    sanitize_line,
    sanitize_text,
)

HOSTILE = {
    "osc52": "\x1b]52;c;cm0gLXJmIH4=\x07",
    "osc8": "\x1b]8;;https://evil.example\x1b\\x\x1b]8;;\x1b\\",
    "csi_clear": "\x1b[2J\x1b[H",
    "c1_csi": "\x9b31m",
    "nel": "\x85",
    "del": "\x7f",
    "bell": "\x07",
    "nul": "\x00",
    "rlo": "\u202eexe.txt",
    "isolate": "\u2066x\u2069",
    "zwsp": "a\u200bb",
    "zwj": "a\u200db",
    "bom": "\ufeff",
    "line_separator": "a\u2028b",
}


def unsafe(text: str) -> list[str]:
    bad = []
    for char in text:
        code = ord(char)
        if (code < 0x20 and char not in "\n\t") or 0x7F <= code <= 0x9F:
            bad.append(char)
        if code in (0x202E, 0x2066, 0x2069, 0x200B, 0x200D, 0xFEFF, 0x2028):
            bad.append(char)
    return bad


def test_every_hostile_sequence_becomes_visible() -> None:
    for name, text in HOSTILE.items():
        cleaned = sanitize_text(text)
        assert unsafe(cleaned) == [], name
        assert "⟨U+" in cleaned, name
    assert sanitize_text("\x1b[2J") == "⟨U+001B⟩[2J"
    assert sanitize_text("\u202eevil") == "⟨U+202E⟩evil"


def test_markup_is_text_not_something_to_strip() -> None:
    # Markup is harmless once rendered as Text/Content; sanitize keeps it so agents see it.
    assert sanitize_text("[@click=app.quit]x[/]") == "[@click=app.quit]x[/]"


def test_newlines_are_normalised_and_tabs_kept() -> None:
    assert sanitize_text("a\r\nb\rc\td") == "a\nb\nc\td"
    assert sanitize_line("Subject\r\nBcc: evil@example.com") == "Subject Bcc: evil@example.com"


def test_bodies_over_the_cap_are_cut_with_a_visible_marker() -> None:
    huge = "x" * (MAX_BODY_CHARS * 15)
    cleaned = sanitize_text(huge)
    assert len(cleaned) <= MAX_BODY_CHARS
    assert cleaned.endswith("characters not stored⟩")
    assert sanitize_text(cleaned) == cleaned


def test_card_numbers_are_redacted_to_first_six_and_last_four() -> None:
    assert redact_cards("card 4111 1111 1111 1111 ok") == "card 411111******1111 ok"
    assert redact_cards("4012-8888-8888-1881") == "401288******1881"
    assert redact_cards("amex 378282246310005") == "amex 378282*****0005"
    # not Luhn-valid, too short, or too long: left alone
    assert redact_cards("order 4111111111111112") == "order 4111111111111112"
    assert redact_cards("phone 020 7946 0018") == "phone 020 7946 0018"
    assert redact_cards("1" * 25) == "1" * 25
    assert luhn_valid("79927398713")


@given(st.text())
def test_sanitize_is_idempotent_and_leaves_nothing_unsafe(text: str) -> None:
    once = sanitize_text(text)
    assert unsafe(once) == []
    assert sanitize_text(once) == once
    line = sanitize_line(text)
    assert "\n" not in line
    assert sanitize_line(line) == line
