"""attack24 on the PostgreSQL phrase walk (``server.routes.tickets.page_rows`` /
``_phrase_page``): paged with ``after`` one ticket at a time, a phrase search gives exactly the
tickets FTS5 gives on SQLite, newest first, never another group's, also when combined with
other filters, negated, made of one-letter or repeated words, unicode, or twenty phrases at
once. (Found nothing; kept as a differential regression test on both databases.)"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.live import Deployment
from tests.server.test_search_backends import push

pytestmark = [pytest.mark.integration]

MINE = [
    ("Refund one", "the refund pending now, a b c"),
    ("Refund two", "refund pending for the café crème"),
    ("Refund three", "pending refund in the other order"),
    ("Refund four", "refund refund pending pending"),
    ("Plain", "nothing to see, a c b"),
]
THEIRS = [("Billing refund", "the refund pending now, a b c and café crème")]
CASES: list[tuple[str, set[str]]] = [
    ('"refund pending"', {"Refund one", "Refund two", "Refund four"}),
    ('"refund pending" -status:solved', {"Refund one", "Refund two", "Refund four"}),
    ('"refund pending" status:solved', set()),
    ('"refund pending" -"pending now"', {"Refund two", "Refund four"}),
    ('-"refund pending"', {"Refund three", "Plain"}),
    ('"a b c"', {"Refund one"}),
    ('"café crème"', {"Refund two"}),
    ('"refund refund pending pending"', {"Refund four"}),
    (" ".join(['"refund pending"'] * 20), {"Refund one", "Refund two", "Refund four"}),
    ('"refund pending" "the other"', set()),
    ('"pending refund" "the other order"', {"Refund three"}),
    ('"refund pend*"', set()),  # a * inside the quotes is no prefix (FTS5)
    ('"refund" pend*', {"Refund one", "Refund two", "Refund three", "Refund four"}),
]


def _all_pages(client: httpx.Client, query: str) -> list[str]:
    """Every page of one ticket, following ``next``; the subjects in the order given."""
    seen: list[str] = []
    params: dict[str, Any] = {"query": query, "limit": 1}
    for _ in range(20):
        answer = client.get("/v1/tickets", params=params)
        assert answer.status_code == 200, (query, answer.text)
        body = answer.json()
        seen += [t["subject"] for t in body["tickets"]]
        if not body["next"]:
            return seen
        params["after"] = body["next"]
    raise AssertionError(f"{query}: more pages than tickets")


def test_attack24_phrase_pages_mean_the_same_on_both_databases_and_leak_nothing(deployment: Deployment) -> None:
    team = deployment.team
    with deployment.api("ada") as ada, deployment.api("sam") as sam:
        ids = iter(range(1, 100))
        for group, tickets in ((team.tier1, MINE), (team.billing, THEIRS)):
            for subject, body in tickets:
                args = {"subject": subject, "body": body, "group_id": group, "requester": {"value": "pat@example.com"}}
                push(ada, "attack24-phrases", [{"id": next(ids), "name": "ticket.create", "args": args}])
        order = [subject for subject, _ in reversed(MINE)]  # newest first
        wrong = []
        for query, expected in CASES:
            got = _all_pages(sam, query)
            if got != [s for s in order if s in expected]:
                wrong.append((query, sorted(expected), got))
        assert wrong == [], f"{deployment.backend}: {wrong}"
