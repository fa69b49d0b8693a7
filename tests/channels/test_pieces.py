"""The small pieces on their own: signed ids, HTML to text, file names, subjects, header safety."""

from __future__ import annotations

from pathlib import Path

import pytest

from supportdesk.channels.attachments import path_for, sanitize_filename, store_bytes
from supportdesk.channels.compose import header_safe, reply_subject
from supportdesk.channels.html_text import html_to_text
from supportdesk.channels.mail_threading import subject_tag
from supportdesk.channels.signing import looks_like_ours, make_message_id, verify_message_id

SECRET = b"a-secret-for-message-ids"
TICKET = "01a212c8-6397-72cc-b63a-0e675660b439"


def test_a_signed_message_id_names_its_ticket_and_resists_tampering() -> None:
    value = make_message_id(SECRET, "acme.test", TICKET, "01a212c8-6394-72dc-b0ce-96f0320067d3")
    assert value.startswith("<01a212c8639772ccb63a0e675660b439.") and value.endswith("@acme.test>")
    assert make_message_id(SECRET, "acme.test", TICKET, "01a212c8-6394-72dc-b0ce-96f0320067d3") == value
    signed = verify_message_id(SECRET, value)
    assert signed is not None and signed.ticket_id == TICKET
    assert verify_message_id(SECRET, value.upper()) is not None  # case is not significant
    other_ticket = value.replace("01a212c8639772cc", "01a212c8639772cd", 1)
    assert looks_like_ours(other_ticket) and verify_message_id(SECRET, other_ticket) is None
    assert verify_message_id(b"another-secret", value) is None
    assert verify_message_id(SECRET, "<random@example.com>") is None
    with pytest.raises(ValueError):
        make_message_id(SECRET, "acme.test", TICKET, "bad token!")


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<p>a</p><p>b</p>", "a\n\nb"),
        ("x<br>y", "x\ny"),
        ('<a href="https://e.test/a">site</a>', "site <https://e.test/a>"),
        ('<a href="https://e.test/a">https://e.test/a</a>', "https://e.test/a"),
        ('<a href="javascript:alert(1)">click</a>', "click"),
        ('<a href="data:text/html,evil">data</a>', "data"),
        ('<a href="mailto:a@e.test">a@e.test</a>', "a@e.test"),
        ('<div style="visibility: hidden">no</div>yes', "yes"),
        ('<div aria-hidden="true">no</div>yes', "yes"),
        ('<div style="opacity:0">no</div>yes', "yes"),
        ("<ul><li>one</li><li>two</li></ul>", "* one\n* two"),
        ("<ol><li>one</li><li>two</li></ol>", "1. one\n2. two"),
        (
            "<table><tr><td>Order</td><td>A-77</td></tr><tr><td>Total</td><td>9.99</td></tr></table>",
            "Order  A-77\nTotal  9.99",
        ),
        ('<p>x</p><!-- a comment --><?php evil() ?><p style="display: none !important">no</p>', "x"),
        ('<a href=" JavaScript:alert(1)">a</a> <a href="vbscript:x">b</a> <area href="data:x">', "a b"),
        ('<a href="https://e.test/a"><img src="x" alt="logo"></a>', "[logo] <https://e.test/a>"),
        ("<p>price&nbsp;&euro;5 &#x1b;[2J</p>", "price €5 \x1b[2J"),
        (
            '<meta http-equiv="refresh" content="0;url=https://evil.test"><iframe src="https://evil.test">x</iframe>ok',
            "ok",
        ),
        ("", ""),
        ("   ", ""),
        ("<?xml version='1.0' encoding='latin-1'?><p>declared</p>", "declared"),
        ('<img src="x" alt="logo">', "[logo]"),
        ("<p>unclosed <b>bold", "unclosed bold"),
        ("&lt;script&gt; is text", "<script> is text"),
        ("<div>" * 400 + "deep" + "</div>" * 400, ""),
    ],
)
def test_html_to_text(html: str, text: str) -> None:
    assert html_to_text(html) == text


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("../../.bashrc", "bashrc"),
        ("..\\..\\windows\\win.ini", "win.ini"),
        ("CON", "_CON"),
        ("nul.txt", "_nul.txt"),
        ("com1", "_com1"),
        ("report\x1b[2J.pdf", "report[2J.pdf"),
        ("invoice\u202egpj.exe", "invoicegpj.exe"),
        ('a<b>c:"d"|e?f*.txt', "a_b_c__d__e_f_.txt"),
        ("", "attachment"),
        (None, "attachment"),
        ("...", "attachment"),
    ],
)
def test_attachment_names(name: str | None, safe: str) -> None:
    assert sanitize_filename(name) == safe


def test_a_long_name_keeps_its_extension() -> None:
    name = sanitize_filename("x" * 300 + ".tar.gz")
    assert len(name) == 200 and name.endswith("….gz")


def test_files_are_stored_once_by_hash(tmp_path: Path) -> None:
    first = store_bytes(tmp_path, b"same bytes")
    second = store_bytes(tmp_path, b"same bytes")
    assert first == second and first.path == path_for(tmp_path, first.sha256)
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == [first.sha256]


def test_reply_subjects_and_tags() -> None:
    assert reply_subject("Printer on fire", 1042) == "Re: Printer on fire [#1042]"
    assert reply_subject("RE: Aw: Fwd: Printer [#1042]", 1042) == "Re: Printer [#1042]"
    assert reply_subject("", 7) == "Re: Your request [#7]"
    assert subject_tag("Re: [#12] and [#1042]") == 1042
    assert subject_tag("#1042 without brackets") is None


def test_header_values_lose_every_line_break() -> None:
    assert header_safe("x\r\nBcc: evil\u2028y\x85z") == "x  Bcc: evil y z"


def test_explanations_of_message_meta() -> None:
    from supportdesk.channels.explain import channel_line, sender_lines, threading_line

    meta = {
        "email": {
            "from": "ceo@acme-corp.test",
            "from_name": "CEO",
            "warnings": ["Reply-To (attacker@evil.test) differs from From (ceo@acme-corp.test)"],
            "automated": [],
            "authentication": {"verdict": "fail"},
            "threading": {"method": "new", "refused": ["forged reference <x>: its signature is wrong"]},
        }
    }
    assert threading_line(meta) == (
        "new ticket: no trusted reference or tag · refused: forged reference <x>: its signature is wrong"
    )
    assert sender_lines(meta) == [
        "from CEO <ceo@acme-corp.test>",
        "Reply-To (attacker@evil.test) differs from From (ceo@acme-corp.test)",
        "authentication: fail",
    ]
    assert threading_line({}) is None and sender_lines({}) == []
    call = {"call": {"direction": "inbound", "number": "+49301234567", "duration_seconds": 245}}
    assert channel_line(call) == "call inbound +49301234567 · 4:05"
    assert (
        channel_line({"social": {"network": "mastodon", "handle": "@sam", "private": True}})
        == "mastodon @sam (private)"
    )


def test_hostile_html_is_bounded() -> None:
    """Shapes that cost the hand-written parser minutes (240 KB of unclosed links took 222 s) or
    walked 100,000 levels deep; bench/channels_text.py times them."""
    assert html_to_text('<a href="https://e.test/' * 100_000) == ""
    assert html_to_text("<div>" * 100_000 + "deep" + "</div>" * 100_000) == ""  # past libxml2's 256 levels
    assert html_to_text("<b><i>" * 50_000 + "x") == ""
    soup = html_to_text("<<a<<p>>></ <!-- <![CDATA[ <script " * 5_000)
    assert "script" not in soup and "CDATA" not in soup
    hidden = html_to_text('<span style="display:none">secret</span>shown ' * 20_000)
    assert "secret" not in hidden and hidden.count("shown") == 20_000
    assert html_to_text("<p>\ud800 lone surrogate \x00 nul</p>").endswith("nul")
