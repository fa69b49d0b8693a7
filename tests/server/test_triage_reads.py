"""Triage reads a batch of new tickets in a few statements, and reads what one at a time read.

The server's triage worker takes every ticket waiting (``server.assist``): their subjects and
first customer messages, and for the duplicate check their requesters' open tickets, now come
from a few statements for the whole batch instead of four per ticket and a connection per
duplicate check. On SQLite and PostgreSQL, a batch mixing the cases — more customer messages
than are read, only an agent's message, a repeat within the requester's group and one in
another group, a solved ticket, an erased requester, an id that is no ticket — must read
exactly what the one-ticket reads give.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from supportdesk.domain.context import SYSTEM
from supportdesk.server import admin, assist
from supportdesk.server.apply import apply_as
from supportdesk.server.db import ServerDatabase

pytestmark = pytest.mark.integration

CHARGED = "My card was charged twice for the March invoice, please refund one of the two payments."


def one_at_a_time(database: ServerDatabase, ticket_id: str) -> tuple[tuple[str, list[str]] | None, Any]:
    """What the worker read for one ticket before the batch reads (its statements, verbatim)."""
    with database.read_engine.connect() as connection:
        subject = connection.execute(text("SELECT subject FROM ticket WHERE id = :t"), {"t": ticket_id}).scalar()
        if subject is None:
            return None, None
        bodies = [
            str(row[0] or "")
            for row in connection.execute(
                text(
                    "SELECT body FROM message WHERE ticket_id = :t AND author_kind = 'customer' "
                    f"ORDER BY created_at, id LIMIT {assist.MESSAGES}"
                ),
                {"t": ticket_id},
            )
        ]
        if not bodies:
            first = connection.execute(
                text("SELECT body FROM message WHERE ticket_id = :t ORDER BY created_at, id LIMIT 1"), {"t": ticket_id}
            ).scalar()
            bodies = [str(first or "")]
    return (str(subject), bodies), assist._duplicate_candidates(database, ticket_id)


def test_a_batch_reads_what_each_ticket_read_alone(database: ServerDatabase) -> None:
    tier1, billing = admin.add_group(database, "Tier 1"), admin.add_group(database, "Billing")

    def create(subject: str, body: str, email: str, group: str | None = tier1, **more: Any) -> str:
        args = {"subject": subject, "body": body, "requester": {"value": email}, "group_id": group, **more}
        return str(apply_as(database, SYSTEM, "ticket.create", args)[0]["ticket_id"])

    first = create("Charged twice", CHARGED, "kim@example.com")
    create("Charged twice again", CHARGED, "kim@example.com", billing)  # another group: no candidate
    solved = create("Charged twice, solved", CHARGED, "kim@example.com")
    apply_as(database, SYSTEM, "ticket.set_status", {"ticket_id": solved, "status": "solved"})
    repeat = create("Still charged twice", CHARGED, "kim@example.com")
    long = create("Many messages", "message 0", "lu@example.com", None)
    for n in range(1, assist.MESSAGES + 5):
        apply_as(database, SYSTEM, "ticket.receive", {"ticket_id": long, "body": f"message {n}"})
    call = create("A call logged", "She called about her invoice.", "bo@example.com", author="agent")
    gone_requester = create("Erase me", CHARGED, "eve@example.com")
    create("Erase me too", CHARGED, "eve@example.com")
    with database.read_engine.connect() as connection:
        customer_id = connection.execute(
            text("SELECT requester_id FROM ticket WHERE id = :t"), {"t": gone_requester}
        ).scalar_one()
    apply_as(database, SYSTEM, "customer.erase", {"customer_id": customer_id})
    batch = [first, repeat, solved, long, call, gone_requester, "no-such-ticket"]

    texts, candidates = assist._ticket_reads(database, batch)
    for ticket_id in batch:
        alone_text, alone_candidates = one_at_a_time(database, ticket_id)
        assert texts.get(ticket_id) == alone_text, ticket_id
        assert candidates.get(ticket_id) == alone_candidates, ticket_id
    assert candidates[repeat] is not None and [c[0] for c in candidates[repeat][1]] == [first]
    assert len(texts[long][1]) == assist.MESSAGES
