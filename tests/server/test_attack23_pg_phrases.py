"""Attacks on PostgreSQL's long-phrase search (attack23): the same answers as SQLite's FTS5, or a
422 naming ``query``, never a 500 — for phrases past the 8 words given to the index with a prefix
or a word PostgreSQL's parser reads differently in them, a first chunk of one repeated word,
exclusions of long phrases, tsquery syntax and quoting characters as words, NUL and bytes that
are not UTF-8 in the URL. (Found nothing; kept as the differential regression test.)"""

from __future__ import annotations

import pytest

from tests.live import Deployment
from tests.server.test_search_backends import push

pytestmark = [pytest.mark.integration]

WORDS = "one two three four five six seven eight nine ten eleven".split()
TICKETS = [
    ("Nine", " ".join(WORDS)),
    ("Repeat", "go " * 12 + "stop"),
    ("Symbols", "½ " * 10 + "end"),
    ("Operators", "cats & dogs | birds ! fish <-> frogs : stars * (paren)"),
]
CASES: list[tuple[str, set[str]]] = [
    # a * inside the quotes is no prefix (FTS5 reads it as a break): "ele" is no word of theirs
    ('"' + " ".join(WORDS[:-1]) + ' ele*"', set()),
    ('"' + " ".join(WORDS[:-1]) + '" ele*', {"Nine"}),
    ('"' + " ".join(WORDS[:9]) + ' x*"', set()),
    ('"' + " ".join(WORDS[:10]) + ' ½*"', set()),
    ('"' + "½ " * 9 + 'end"', {"Symbols"}),
    ('"' + "½ " * 10 + 'e*"', set()),
    ('"' + "½ " * 10 + 'end*"', {"Symbols"}),
    ('"' + "½ " * 12 + '"', set()),
    ('"' + "go " * 12 + 'stop"', {"Repeat"}),
    ('"' + "go " * 13 + 'stop"', set()),
    ('"' + "go " * 11 + 'st*"', set()),
    ("-".join(["go"] * 12) + "-st*", {"Repeat"}),
    ('-"' + "go " * 12 + 'stop"', {"Nine", "Symbols", "Operators"}),
    ('"' + " ".join(WORDS) + '" -"' + "go " * 12 + 'stop"', {"Nine"}),
    ("-".join(WORDS[:10]) + "*", {"Nine"}),
    ('"cats & dogs | birds ! fish <-> frogs : stars * (paren)"', {"Operators"}),
    ("(one & two)", {"Nine"}),
    ("!one", {"Nine"}),
    ("one|two", {"Nine"}),
    ("'one'", {"Nine"}),
    ("one\\*", {"Nine"}),
    ("fis*", {"Operators"}),
    ('"" one', {"Nine"}),
]
#: Sent as they are in the URL: (query string, expected status).
RAW = [("one%00two", 422), ('"one%00two"', 422), ("one%00*", 422), ("one%ED%A0%80", 200), ("%FF%FE", 200)]


def test_hostile_phrases_mean_the_same_on_both_databases(deployment: Deployment) -> None:
    with deployment.api("ada") as ada:
        ids = iter(range(1, 100))
        for subject, body in TICKETS:
            args = {"subject": subject, "body": body, "requester": {"value": "pat@example.com", "name": "Pat"}}
            push(ada, "attack23-phrases", [{"id": next(ids), "name": "ticket.create", "args": args}])
        got = {}
        for query, _expected in CASES:
            answer = ada.get("/v1/tickets", params={"query": query, "limit": 100})
            assert answer.status_code == 200, (query[:40], answer.text)
            got[query] = {t["subject"] for t in answer.json()["tickets"]}
        wrong = [(query, expected, got[query]) for query, expected in CASES if got[query] != expected]
        assert wrong == [], f"{deployment.backend}: {wrong}"
        for raw, status in RAW:
            answer = ada.get("/v1/tickets?limit=100&query=" + raw)
            assert answer.status_code == status, (raw, answer.text)
            if status == 422:
                assert answer.json()["error"]["field"] == "query"
