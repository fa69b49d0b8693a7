"""Attack on PostgreSQL search (issue 13): after a random sequence of the server's own writes —
tickets created, replies, notes, customer mail, subjects changed, merges (both ways, a merge of a
merge), customers renamed, given addresses, merged, erased, tickets imported with their messages
out of order — every ticket's stored document equals a fresh rebuild, and an erased customer's
words are found nowhere."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from supportdesk.domain.context import SYSTEM
from supportdesk.domain.errors import DomainError
from supportdesk.server.apply import apply_as
from supportdesk.server.db import ServerDatabase
from tests.server.test_pg_search_races import stale
from tests.server.test_pg_ticket_search import found

# the server conftest's ``database``, on PostgreSQL only (its search documents are PostgreSQL's)
pytestmark = [pytest.mark.integration, pytest.mark.parametrize("database", ["postgresql"], indirect=True)]

WORDS = "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike".split()


def test_random_writes_keep_every_document_equal_to_a_rebuild(database: ServerDatabase) -> None:
    chance = random.Random(13)
    tickets: list[str] = []
    customers: list[str] = []
    applied: dict[str, int] = {}

    def phrase(n: int = 4) -> str:
        return " ".join(chance.choice(WORDS) for _ in range(n))

    def run(name: str, args: dict[str, Any]) -> dict[str, Any] | None:
        try:
            result, _ = apply_as(database, SYSTEM, name, args)
        except DomainError:
            return None
        applied[name] = applied.get(name, 0) + 1
        return result

    def create() -> None:
        address = f"c{chance.randrange(6)}@example.com"
        result = run(
            "ticket.create",
            {"subject": phrase(), "body": phrase(8), "requester": {"value": address, "name": phrase(2)}},
        )
        assert result is not None
        tickets.append(result["ticket_id"])
        with database.engine.connect() as connection:
            requester = connection.execute(
                text("SELECT requester_id FROM ticket WHERE id = :id"), {"id": result["ticket_id"]}
            ).scalar_one()
        if requester not in customers:
            customers.append(requester)

    def imported() -> None:
        start = datetime(2025, 3, 1, tzinfo=UTC) + timedelta(days=chance.randrange(300))
        messages = [
            {
                "channel": "email",
                "direction": "inbound",
                "author_kind": "customer",
                "body": phrase(6),
                "created_at": (start + timedelta(hours=h)).isoformat(),
            }
            for h in range(4)
        ]
        chance.shuffle(messages)  # an export need not list them in order
        customer = {"name": phrase(2), "identities": [{"kind": "email", "value": f"i{len(tickets)}@example.com"}]}
        args = {
            "subject": phrase(),
            "requester_id": "",
            "created_at": start.isoformat(),
            "customers": [customer],
            "messages": messages,
        }
        customer["id"] = args["requester_id"] = f"01900000-0000-7000-8000-{len(tickets):012d}"
        result = run("ticket.import", args)
        if result is not None:
            tickets.append(result.get("ticket_id") or args.get("id", ""))

    def some_ticket() -> str:
        return chance.choice(tickets)

    steps = [
        (create, 3),
        (imported, 1),
        (lambda: run("ticket.note", {"ticket_id": some_ticket(), "body": phrase(5)}), 3),
        (lambda: run("ticket.reply", {"ticket_id": some_ticket(), "body": phrase(5)}), 3),
        (lambda: run("ticket.receive", {"ticket_id": some_ticket(), "body": phrase(5)}), 2),
        (lambda: run("ticket.set_subject", {"ticket_id": some_ticket(), "subject": phrase()}), 2),
        (
            lambda: run(
                "ticket.merge", {"source_id": some_ticket(), "target_id": some_ticket(), "different_requesters": True}
            ),
            2,
        ),
        (lambda: run("customer.update", {"customer_id": chance.choice(customers), "name": phrase(2)}), 2),
        (
            lambda: run(
                "customer.add_identity",
                {
                    "customer_id": chance.choice(customers),
                    "kind": "email",
                    "value": f"{phrase(1)}{chance.random()}@x.io",
                },
            ),
            1,
        ),
        (
            lambda: run(
                "customer.merge", {"source_id": chance.choice(customers), "target_id": chance.choice(customers)}
            ),
            1,
        ),
    ]
    population = [step for step, weight in steps for _ in range(weight)]
    create()
    for _ in range(150):
        chance.choice(population)()
    assert applied.get("ticket.merge", 0) >= 3 and applied.get("customer.merge", 0) >= 1, applied
    assert applied.get("ticket.import", 0) >= 1, applied
    assert stale(database) == []

    # an erasure: the person's words leave every document
    victim = chance.choice(customers)
    run("customer.update", {"customer_id": victim, "name": "Zyrafina Quonkwright"})
    run("customer.add_identity", {"customer_id": victim, "kind": "email", "value": "zq@quonk-mail.example"})
    with database.engine.connect() as connection:
        theirs = connection.execute(text("SELECT id FROM ticket WHERE requester_id = :c"), {"c": victim}).scalars()
        theirs = list(theirs)
    for ticket_id in theirs:
        run("ticket.receive", {"ticket_id": ticket_id, "body": "My passport is X4815162342"})
    with database.engine.connect() as connection:  # mail to a closed ticket opened a follow-up
        theirs = list(
            connection.execute(text("SELECT id FROM ticket WHERE requester_id = :c"), {"c": victim}).scalars()
        )
        assert found(connection, "quonkwright") == set(theirs)
    assert run("customer.erase", {"customer_id": victim}) is not None
    with database.engine.connect() as connection:
        for word in ("quonkwright", "zyrafina", "quonk", "x4815162342"):
            assert found(connection, word) == set(), word
        lexemes = connection.execute(text("SELECT string_agg(document::text, ' ') FROM ticket_search")).scalar()
        assert "quonk" not in lexemes and "x4815162342" not in lexemes
    assert stale(database) == []
