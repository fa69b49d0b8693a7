"""Free text on the server means the same on SQLite (FTS5) and PostgreSQL (full-text search over
each ticket's stored document, migration 0027): the same cases, the same tickets, newest first, on
both; ``sort:relevance`` ranks on PostgreSQL and finds the same tickets on both."""

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
    ('"invoice refund"', {"Invoice question"}),  # a phrase runs from one message into the next
    ('"fire the"', set()),  # but not from the subject into the messages (FTS5's columns)
    ('"it alice"', set()),  # nor from the messages into the requester
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
def test_postgresql_answers_free_text_from_its_gin_index(pg_deployment: Deployment) -> None:
    """A word is looked up in the GIN index of the search documents, not by reading every one
    (at scale the planner also walks tickets newest first for a common word: bench/pg_search.py)."""
    from sqlalchemy import text

    from supportdesk.store.query import compile_query

    compiled = compile_query("printer", dialect="postgresql")
    with pg_deployment.team.db.engine.connect() as connection:
        # a tiny table would be read whole, or through its primary key, anyway
        connection.execute(text("SET enable_seqscan = off"))
        connection.execute(text("SET enable_indexscan = off"))
        plan = "\n".join(
            row[0]
            for row in connection.execute(
                text(f"EXPLAIN SELECT t.id FROM ticket t WHERE {compiled.where}"), compiled.params
            )
        )
    assert "ix_ticket_search_document" in plan, plan


#: (subject, first message, requester name), oldest first: "refund" in a message, the requester's
#: name, the subject — so relevance (subject, then people, then messages) is newest-first reversed.
RANKED = [
    ("Order status", "Where is my order? A refund would do too.", "Ola Berg"),
    ("Hello there", "Just saying hello.", "Refund Reyes"),
    ("Refund request", "Please send my money back.", "Pat Kim"),
    ("Unrelated", "Nothing to see.", "Sam Lee"),
]


def page_through(client: httpx.Client, query: str, limit: int) -> tuple[list[str], set[str]]:
    """Every page of ``query``: the subjects in order, and the sorts the pages said they used."""
    found: list[str] = []
    sorts: set[str] = set()
    after: str | None = None
    while True:
        params: dict[str, Any] = {"query": query, "limit": limit, **({"after": after} if after else {})}
        response = client.get("/v1/tickets", params=params)
        assert response.status_code == 200, (query, response.text)
        page = response.json()
        found += [ticket["subject"] for ticket in page["tickets"]]
        sorts.add(page["sort"])
        after = page["next"]
        if after is None:
            return found, sorts


def test_relevance_ranks_on_postgresql_and_finds_the_same_tickets_on_both(deployment: Deployment) -> None:
    import base64

    import orjson

    with deployment.api("ada") as ada:
        for number, (subject, body, name) in enumerate(RANKED, start=1):
            args = {"subject": subject, "body": body, "requester": {"value": f"r{number}@example.com", "name": name}}
            push(ada, "rank-case", [{"id": number, "name": "ticket.create", "args": args}])
        newest, _ = page_through(ada, "refund", 100)
        assert newest == ["Refund request", "Hello there", "Order status"]
        for limit in (1, 2, 100):  # a page at a time: each ticket once, in one order
            ranked, sorts = page_through(ada, "refund sort:relevance", limit)
            if deployment.backend == "postgresql":
                assert (ranked, sorts) == (["Refund request", "Hello there", "Order status"], {"relevance"})
                # the subject first, then the requester, then a message: reversed creation order
            else:  # a SQLite server lists a text search newest first
                assert (ranked, sorts) == (newest, {"created-desc"})
        ranked, _ = page_through(ada, "refund -hello sort:relevance", 1)
        assert set(ranked) == {"Refund request", "Order status"}
        assert page_through(ada, "status:open sort:relevance", 100)[1] == {"updated-desc"}  # no text: no rank
        first = ada.get("/v1/tickets", params={"query": "refund sort:relevance", "limit": 1}).json()
        _, ticket_id = orjson.loads(base64.urlsafe_b64decode(first["next"]))
        for key in ("0.5", True, None, 1e300, [1], "2026-01-01 00:00:00.000000"):
            forged = base64.urlsafe_b64encode(orjson.dumps([key, ticket_id])).decode()
            response = ada.get("/v1/tickets", params={"query": "refund sort:relevance", "after": forged})
            # a rank on PostgreSQL, a time on SQLite (newest first): anything else is refused
            if deployment.backend == "sqlite" and isinstance(key, str) and key.startswith("2026"):
                assert response.status_code == 200, (key, response.text)
            else:
                assert response.status_code == 422, (key, response.text)
                assert response.json()["error"]["field"] == "after"
        for query in [*HOSTILE, *(f'"{q}"' for q in HOSTILE)]:
            response = ada.get("/v1/tickets", params={"query": f"{query} sort:relevance"})
            if response.status_code == 422:
                assert response.json()["error"]["field"] == "query", (query, response.text)
                continue
            assert response.status_code == 200, (query, response.text)


@pytest.mark.integration
def test_postgresql_ranks_the_newest_matches_of_a_broad_search(pg_deployment: Deployment) -> None:
    """Relevance ranks a bounded pool: the newest ``pool`` matches, ranked (bench/README.md)."""
    from sqlalchemy import text

    from supportdesk.server.routes.tickets import page_sql
    from supportdesk.store.query import compile_query

    with pg_deployment.api("ada") as ada:
        for number, (subject, body, name) in enumerate(RANKED, start=1):
            args = {"subject": subject, "body": body, "requester": {"value": f"r{number}@example.com", "name": name}}
            push(ada, "pool-case", [{"id": number, "name": "ticket.create", "args": args}])
    compiled = compile_query("refund sort:relevance", dialect="postgresql")
    ranked = {}
    for pool in (2, 3):
        sql, params, sort = page_sql(compiled, "TRUE", {}, None, 50, "postgresql", pool=pool)
        assert sort == "relevance"
        with pg_deployment.team.db.engine.connect() as connection:
            ranked[pool] = [row.subject for row in connection.execute(text(sql), params)]
    # the oldest match ("Order status", a message) is outside a pool of the two newest
    assert ranked == {2: ["Refund request", "Hello there"], 3: ["Refund request", "Hello there", "Order status"]}
