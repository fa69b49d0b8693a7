"""Attack on PostgreSQL search (issue 13): the same text and the same queries on a SQLite server
(FTS5) and a PostgreSQL one, side by side — every query finds the same tickets on both, and odd or
hostile input is a result or a 422, never a server error."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.live import Deployment, deploy
from tests.server.test_search_backends import push

pytestmark = pytest.mark.integration

#: (subject, body): text as mail brings it — no-break and zero-width spaces, typographic quotes,
#: other scripts, combining accents, symbols glued to words.
TEXTS = [
    ("Nbsp case", "hello\u00a0world from the mail client"),
    ("Quote case", "I don\u2019t see the \u201cinvoice\u201d anywhere"),
    ("Zero width", "zero\u200bwidth joiner\u200dtext"),
    ("Bidi case", "rtl\u200fmark and \u05e9\u05dc\u05d5\u05dd \u05e2\u05d5\u05dc\u05dd"),
    ("Emoji case", "emoji\U0001f600glued and \U0001f44dthumbs"),
    ("Combining", "cafe\u0301 decomposed and re\u0301sume\u0301"),
    ("Symbols", "Acme\u00a92024 x\u00bdy 5\u20acprice"),
    ("Cjk case", "\u4e2d\u6587\u5b57 mixed\u4e2d"),
    ("Snake case", "snake_case_word and v1.2.3 and a.b@c.d"),
    ("Digits", "order #1042 and \u0661\u0662\u0663 arabic digits"),
    ("Tab case", "tabbed\tword and new\nline and back\\slash"),
]

QUERIES = [
    "hello",
    "world",
    '"hello world"',
    "don",
    "don\u2019t",
    '"don t"',
    "invoice",
    "zero",
    "width",
    "zero\u200bwidth",
    "joiner",
    "rtl",
    "mark",
    "\u05e9\u05dc\u05d5\u05dd",
    "emoji",
    "glued",
    "thumbs",
    "cafe",
    "caf\u00e9",
    "resume",
    "acme",
    "2024",
    '"acme 2024"',
    "x",
    "price",
    "\u4e2d\u6587\u5b57",
    "\u4e2d\u6587",
    "mixed",
    "snake",
    "snake_case_word",
    "v1",
    "tabbed",
    "slash",
    "back\\slash",
    "\u0661\u0662\u0663",
    "123",
    "hel*",
    "\u05e9*",
    '"don t*"',
    "zer*",
]

#: Hostile input: operators of both engines, escapes, separators only, a thousand terms.
HOSTILE = [
    "!",
    "&",
    "|",
    "a:*",
    "a <-> b",
    "a <2> b",
    "(a | b) & !c",
    "\\",
    "\\'",
    "'",
    "''",
    '""',
    '"" hello',
    "\u200b",
    "\u200f\u200e",
    "\ud800",
    "\U0001f600",
    "a" * 1999,
    "\u00e9" * 1500,
    " ".join(["hello"] * 600),
    " ".join(f"w{n}*" for n in range(400)),
    "-hello",
    "-" * 50,
    "*",
    "hello*" * 100,
    "NEAR(a b)",
    "a OR b",
    "{subject}: hello",
    "subject:hello",
    "^hello",
]


#: Where the two engines differ, and why (kept so that a fix shows): PostgreSQL's ``unaccent``
#: spells some symbols out — "©" becomes "(C)", a word "c" between "acme" and "2024" —,
#: where FTS5 reads a symbol as a word break. Changing it would rebuild every search document.
KNOWN_DIFFERENCES = {'"acme 2024"': ((200, ["Symbols"]), (200, []))}


@pytest.fixture
def both(tmp_path: Path) -> Iterator[dict[str, Deployment]]:
    with ExitStack() as stack:
        deployments = {}
        for backend in ("sqlite", "postgresql"):
            folder = tmp_path / backend
            folder.mkdir()
            deployments[backend] = stack.enter_context(deploy(backend, folder))
        yield deployments


def subjects(client: httpx.Client, query: str) -> tuple[int, Any]:
    # a lone surrogate goes as the bytes a careless client would send (CESU-8)
    raw = quote(query.encode("utf-8", "surrogatepass"), safe="")
    response = client.get(f"/v1/tickets?limit=100&query={raw}")
    if response.status_code != 200:
        return response.status_code, response.json()
    return 200, sorted(ticket["subject"] for ticket in response.json()["tickets"])


def test_the_same_queries_find_the_same_tickets_on_sqlite_and_postgresql(both: dict[str, Deployment]) -> None:
    answers: dict[str, dict[str, Any]] = {}
    for backend, deployment in both.items():
        with deployment.api("ada") as ada:
            for number, (subject, body) in enumerate(TEXTS, start=1):
                args = {"subject": subject, "body": body, "requester": {"value": f"c{number}@example.com"}}
                push(ada, "diff-case", [{"id": number, "name": "ticket.create", "args": args}])
            answers[backend] = {query: subjects(ada, query) for query in [*QUERIES, *HOSTILE]}
            # ranked, the same tickets (a handful: all in the ranked pool); negated, the others
            for query in QUERIES:
                assert subjects(ada, f"{query} sort:relevance") == answers[backend][query], (backend, query)
                if answers[backend][query][0] == 200 and " " not in query:
                    everything = set(subjects(ada, "")[1])
                    negated = subjects(ada, f"-{query}")
                    assert negated == (200, sorted(everything - set(answers[backend][query][1]))), (backend, query)
    for backend, found in answers.items():
        errors = {q: a for q, a in found.items() if a[0] >= 500 or (a[0] != 200 and a[0] != 422)}
        assert errors == {}, backend
        refused = {q: a for q, a in found.items() if a[0] == 422 and a[1]["error"]["field"] != "query"}
        assert refused == {}, backend
    differences = {
        query: (answers["sqlite"][query], answers["postgresql"][query])
        for query in [*QUERIES, *HOSTILE]
        if answers["sqlite"][query] != answers["postgresql"][query]
    }
    assert differences == KNOWN_DIFFERENCES
