"""Free text on the server means the same on SQLite (FTS5) and PostgreSQL (full-text search over
GIN indexes, migration 0019): the same cases, the same tickets, newest first, on both."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from supportdesk.protocol import SCHEMA_VERSION
from tests.live import Deployment

#: (subject, first message, requester address, requester name, a later reply or None)
TICKETS = [
    ("Printer on fire", "The paper jam started it.", "alice@example.com", "Alice Doe", None),
    ("Invoice question", "A jam of paper and an invoice.", "bob@example.org", "Bob Roe", "Refund approved"),
    ("Café menu", "Order #1042 is late; see v1.2 of the terms.", "chloe@example.net", "Chloé Noël", None),
    ("Login trouble", "I cannot sign in after the printing update.", "dan@example.com", "Dan", None),
]

CASES: list[tuple[str, set[str]]] = [
    ("printer", {"Printer on fire"}),
    ("PRINTER", {"Printer on fire"}),
    ("print", set()),  # words, not substrings
    ("print*", {"Printer on fire", "Login trouble"}),
    ('"paper jam"', {"Printer on fire"}),  # a phrase: "a jam of paper" is not it
    ("paper jam", {"Printer on fire", "Invoice question"}),  # both words, anywhere
    ("refund", {"Invoice question"}),  # a later reply counts
    ("invoice refund", {"Invoice question"}),  # one word in the subject, one in a reply
    ("alice", {"Printer on fire"}),  # the requester's address
    ("alice@example.com", {"Printer on fire"}),
    ("doe", {"Printer on fire"}),  # the requester's name
    ("cafe", {"Café menu"}),  # diacritics removed
    ("noel", {"Café menu"}),
    ("1042", {"Café menu"}),
    ("v1", {"Café menu"}),
    ("printer -fire", set()),
    ("jam -invoice", {"Printer on fire"}),
    ("nothingmatches", set()),
]

#: Hostile free text: operators of either engine, quotes, escapes, also quoted. Each is searched
#: or refused as a query (422 naming ``query``), never a server error.
HOSTILE = ["%", "_", "'", "\\", "a:*", "!(", "& | !", "<->", "printer:* & !", '"unclosed', "*", "' OR 1=1 --"]


def push(client: httpx.Client, client_id: str, mutations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    body = {"client_id": client_id, "schema_version": SCHEMA_VERSION, "mutations": mutations}
    response = client.post("/v1/push", json=body)
    assert response.status_code == 200, response.text
    results: list[dict[str, Any]] = response.json()["results"]
    assert all(result["ok"] for result in results), results
    return results


def subjects(client: httpx.Client, query: str) -> list[str]:
    response = client.get("/v1/tickets", params={"query": query, "limit": 100})
    assert response.status_code == 200, (query, response.text)
    return [ticket["subject"] for ticket in response.json()["tickets"]]


def test_free_text_means_the_same_on_both_databases(deployment: Deployment) -> None:
    with deployment.api("ada") as ada:
        mutation_ids = iter(range(1, 100))
        for subject, body, address, name, reply in TICKETS:
            args = {"subject": subject, "body": body, "requester": {"value": address, "name": name}}
            create = {"id": next(mutation_ids), "name": "ticket.create", "args": args}
            (created,) = push(ada, "search-case", [create])
            if reply:
                note = {"ticket_id": created["result"]["ticket_id"], "body": reply}
                push(ada, "search-case", [{"id": next(mutation_ids), "name": "ticket.note", "args": note}])
        failures = [
            (query, expected, found) for query, expected in CASES if set(found := subjects(ada, query)) != expected
        ]
        assert failures == [], f"{deployment.backend}: {failures}"
        # newest first by default, on both
        assert subjects(ada, "print*") == ["Login trouble", "Printer on fire"]
        everything = set(subjects(ada, ""))
        for query in [*HOSTILE, *(f'"{q}"' for q in HOSTILE)]:
            response = ada.get("/v1/tickets", params={"query": query})
            if response.status_code == 422:  # the query language refused it, in one line
                assert response.json()["error"]["field"] == "query", (query, response.text)
                continue
            assert response.status_code == 200, (query, response.text)
            assert {t["subject"] for t in response.json()["tickets"]} <= everything


@pytest.mark.integration
def test_postgresql_answers_free_text_from_its_gin_indexes(pg_deployment: Deployment) -> None:
    """The plan reads the four expression indexes, not every message (the old ILIKE scan)."""
    from sqlalchemy import text

    from supportdesk.store.query import compile_query

    compiled = compile_query("printer", dialect="postgresql")
    with pg_deployment.team.db.engine.connect() as connection:
        connection.execute(text("SET enable_seqscan = off"))  # a tiny table would be scanned anyway
        plan = "\n".join(
            row[0]
            for row in connection.execute(
                text(f"EXPLAIN SELECT t.id FROM ticket t WHERE {compiled.where}"), compiled.params
            )
        )
    for index in (
        "ix_ticket_subject_search",
        "ix_message_body_search",
        "ix_customer_name_search",
        "ix_identity_value_search",
    ):
        assert index in plan, plan
