"""HTML mail to text, and quoted-history detection: time on real fixtures and on hostile input.

Prints one line per case: p50/p95 of ``html_to_text`` (the ingest of an HTML-only mail) and of
``split_quoted`` (the console folding a mail's quoted history). The hostile cases are the ones
the limits exist for: the largest HTML the parser accepts (``MailLimits.max_text_chars * 10``),
nesting far past any real mail, markup that never closes, and lines built to make a regular
expression backtrack. Run: ``.venv/bin/python bench/channels_text.py [--repeat N]``.
"""

from __future__ import annotations

import argparse
import email
import sys
from email import policy
from pathlib import Path

from _timing import measure, summary
from supportdesk.channels.html_text import html_to_text
from supportdesk.channels.settings import MailLimits

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "channels" / "fixtures"
HTML_CAP = MailLimits().max_text_chars * 10


def fixture_html(name: str) -> str:
    message = email.message_from_bytes((FIXTURES / name).read_bytes(), policy=policy.default)
    part = message.get_body(("html",))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]


def newsletter(rows: int) -> str:
    """A typical marketing or ticket-system mail: tables, inline styles, links, images."""
    row = (
        '<tr><td style="padding:4px"><a href="https://shop.example/p/{i}">Product {i}</a></td>'
        '<td><img src="https://cdn.example/{i}.png" alt="item {i}"></td><td>&euro;{i}.99</td></tr>'
    )
    body = "".join(row.format(i=i) for i in range(rows))
    return (
        "<html><head><style>td{color:#333}</style></head><body><p>Hello Alice,</p>"
        f'<table cellpadding="0">{body}</table><p style="display:none">preheader text</p>'
        '<p>Questions? <a href="mailto:help@shop.example">help@shop.example</a></p></body></html>'
    )


def html_cases() -> dict[str, str]:
    hidden = fixture_html("html_hidden.eml")
    return {
        "fixture html_hidden.eml": hidden,
        "newsletter, 200 rows (~40 KB)": newsletter(200),
        f"huge: the {HTML_CAP:,}-character cap of tables": (newsletter(10_000) * 2)[:HTML_CAP],
        "deep: 100,000 nested <div>": "<div>" * 100_000 + "deep" + "</div>" * 100_000,
        "deep: 50,000 nested <b><i>": "<b><i>" * 50_000 + "x",
        "malformed: 200,000 unclosed <a href=": '<a href="https://e.test/' * 200_000,
        "malformed: angle-bracket soup, 1 MB": "<<a<<p>>></ <!-- <![CDATA[ <script " * 25_000,
        "hidden: 20,000 display:none spans": '<span style="display:none">x</span>y' * 20_000,
    }


def quoted_cases() -> dict[str, str]:
    reply = "Thanks, that worked!\n\nOn Tue, 3 Nov 2026 at 10:02, Support <support@acme.test> wrote:\n"
    return {
        "reply with 40 quoted lines": reply + "> earlier text of the thread\n" * 40,
        "200,000 characters, no quote": ("All work and no play makes Jack a dull boy. " * 4 + "\n") * 1_100,
        "one 200,000-character line": "x" * 200_000,
        "backtracking bait: 'Am … schrieb' x 20,000 on one line": "Am " + " schrieb " * 20_000 + "x",
        "10,000 short lines, quote at the end": "line\n" * 10_000 + reply + "> old\n",
        "3,000 lines with a colon each, no quote": "Note: this line has a colon in it, and more.\n" * 3_000,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    print("html_to_text")
    for name, html in html_cases().items():
        samples = measure(lambda html=html: html_to_text(html), repeat=args.repeat, warmup=1)
        print(f"  {name:58} {summary(samples)}")
    try:
        from supportdesk.channels.quoted import split_quoted
    except ImportError:
        from supportdesk.tui.widgets.timeline import split_quoted  # before it moved to channels
    print("split_quoted")
    for name, body in quoted_cases().items():
        samples = measure(lambda body=body: split_quoted(body), repeat=args.repeat, warmup=1)
        print(f"  {name:58} {summary(samples)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
