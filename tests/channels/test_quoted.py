"""Quoted history: where a mail's new text ends, in the shapes real clients write, and bounded on
hostile bodies."""

from __future__ import annotations

import pytest

from supportdesk.channels.quoted import SCAN_LINES, split_quoted

GMAIL = (
    "Thanks, that worked!\n\nOn Tue, 3 Nov 2026 at 10:02, Support <support@acme.test> wrote:\n> Unplug it.\n>\n> Sam"
)


@pytest.mark.parametrize(
    ("body", "new", "quoted_starts"),
    [
        (GMAIL, "Thanks, that worked!", "On Tue, 3 Nov 2026 at 10:02"),
        ("Danke!\n\nAm 03.11.2026 um 10:02 schrieb Support <s@acme.test>:\n> Bitte.", "Danke!", "Am 03.11.2026"),
        ("Merci !\n\nLe 3 nov. 2026 à 10:02, Support <s@acme.test> a écrit :\n> Oui", "Merci !", "Le 3 nov."),
        ("Gracias\n\nEl mar, 3 nov 2026, Support escribió:\n> Hola", "Gracias", "El mar, 3 nov"),
        (  # a client wrapped the introduction over two lines
            "Yes.\n\nOn Tue, 3 Nov 2026 at 10:02, Some Very Long Name <some.very.long.address@example.com>\n"
            "wrote:\n> hi",
            "Yes.",
            "On Tue, 3 Nov",
        ),
        ("Thanks.\n\n-----Original Message-----\nFrom: Support\nSent: Tuesday\n\nold", "Thanks.", "-----Original"),
        ("Thanks.\n\n" + "_" * 32 + "\nFrom: Support <s@a.test>\nSent: Tuesday\n\nold", "Thanks.", "_" * 32),
        (
            "See below.\n\nFrom: Support <s@acme.test>\nSent: Tuesday, 3 November\nTo: Alice\n\nold",
            "See below.",
            "From:",
        ),
        ("Fine now.\n\nBegin forwarded message:\n\nFrom: x@y.test\nSubject: z", "Fine now.", "Begin forwarded"),
        ("new text\n> old\n> older\n\n", "new text", "> old"),
    ],
)
def test_the_new_text_and_the_quoted_history_are_told_apart(body: str, new: str, quoted_starts: str) -> None:
    shown, quoted = split_quoted(body)
    assert shown == new
    assert quoted.startswith(quoted_starts)
    assert f"{shown}\n" in body and body.endswith(quoted)


@pytest.mark.parametrize(
    "body",
    [
        "just text\nno quote",
        "From: my experience the printer jams when it is cold.\nAny idea?",  # a sentence, not a header block
        "> question one?\nanswer one\n> question two?\nanswer two",  # an answer written between the quotes
        "On Tue, 3 Nov 2026, Support wrote:\n> forwarded without a word",  # nothing new above: show it all
        "",
    ],
)
def test_text_that_is_not_quoted_history_stays_whole(body: str) -> None:
    assert split_quoted(body) == (body, "")


def test_hostile_bodies_are_bounded() -> None:
    # quotequail's "Am … schrieb …" pattern backtracks on one long line (31 s for this one, uncut)
    bait = "Am " + " schrieb " * 20_000 + "x"
    shown, quoted = split_quoted(f"{bait}\n\n{GMAIL.split(chr(10), 2)[2]}")
    assert shown == bait and quoted.startswith("On Tue, 3 Nov 2026")
    # its default line limit would fold every line after the 1,000th as if quoted
    long_mail = "\n".join(f"line {n}" for n in range(5_000))
    assert split_quoted(long_mail) == (long_mail, "")
    # an introduction past the scanned lines is not looked for; a trailing quote block still is
    late = "\n".join(["x"] * (SCAN_LINES + 10)) + "\nOn Tue, 3 Nov 2026, Support wrote:\nnot quoted with >"
    assert split_quoted(late) == (late, "")
    tail = "\n".join(["x"] * (SCAN_LINES + 10)) + "\n> the old mail\n> goes on"
    assert split_quoted(tail)[1] == "> the old mail\n> goes on"
    one_line = "y" * 400_000
    assert split_quoted(one_line) == (one_line, "")
