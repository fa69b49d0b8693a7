"""A server keeps the rules and policies it read between pushes, and reads them again when changed.

Across pushes (:mod:`supportdesk.domain.config_cache`), on each engine: a rule changed by another
connection — another server process, an admin command — between two pushes counts from the next
push, because the database's triggers bumped ``config_version`` (PostgreSQL's are statement
triggers of their own, so they are tested here).
"""

from __future__ import annotations

import pytest
from sqlalchemy import text

from supportdesk.server.db import ServerDatabase
from tests.server.test_push_batch import Pusher, new_ticket

pytestmark = pytest.mark.integration


def tags(pusher: Pusher, ticket_id: str) -> list[str]:
    return [r[0] for r in pusher.rows("SELECT tag FROM ticket_tag WHERE ticket_id = :t", t=ticket_id)]


def test_a_rule_changed_between_pushes_by_another_connection_counts_from_the_next(database: ServerDatabase) -> None:
    pusher = Pusher(database)
    definition = {"name": "Refunds", "when": ["created"], "conditions": {"words": ["refund"]}}
    definition["actions"] = [{"add_tags": ["refund"]}]
    (made,) = pusher.push(("rule.create", {"definition": definition}))
    assert made.ok, made
    assert tags(pusher, new_ticket(pusher, "A refund please")) == ["refund"]  # the rules are kept now
    version = pusher.rows("SELECT value FROM config_version")[0][0]
    with database.engine.begin() as other:  # what another server process would commit
        other.execute(text("UPDATE trigger_rule SET active = :off"), {"off": False})
    assert pusher.rows("SELECT value FROM config_version")[0][0] > version
    assert tags(pusher, new_ticket(pusher, "Another refund")) == []
    with database.engine.begin() as other:
        other.execute(text("UPDATE trigger_rule SET active = :on"), {"on": True})
    assert tags(pusher, new_ticket(pusher, "A third refund")) == ["refund"]


def test_a_customer_erased_by_another_connection_has_the_next_pushed_note_erased(database: ServerDatabase) -> None:
    """The server keeps "is anyone erased?" between pushes (nobody is: the check after each write
    is skipped). An erasure committed elsewhere — another server process — must end that at once:
    the customer row's own trigger (a row trigger on PostgreSQL) bumps ``config_version``."""
    pusher = Pusher(database)
    ticket_id = new_ticket(pusher, "Nobody erased yet")
    (noted,) = pusher.push(("ticket.note", {"ticket_id": ticket_id, "body": "kept"}))  # "nobody": kept now
    assert noted.ok, noted
    version = pusher.rows("SELECT value FROM config_version")[0][0]
    with database.engine.begin() as other:
        other.execute(text("UPDATE customer SET name = :n"), {"n": "Renamed"})  # not an erasure
    assert pusher.rows("SELECT value FROM config_version")[0][0] == version
    with database.engine.begin() as other:  # what customer.erase in another process commits, in short
        other.execute(text("UPDATE customer SET erased_at = updated_at"))
    assert pusher.rows("SELECT value FROM config_version")[0][0] > version
    (late,) = pusher.push(("ticket.note", {"ticket_id": ticket_id, "body": "Dear Jane Doe, 555-0100"}))
    assert late.ok, late
    bodies = [r[0] for r in pusher.rows("SELECT body FROM message WHERE ticket_id = :t", t=ticket_id)]
    assert "Dear Jane Doe, 555-0100" not in bodies
