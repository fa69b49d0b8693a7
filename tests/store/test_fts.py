"""The search indexes stay in step with every write, inside the same transaction."""

from __future__ import annotations

import sqlite3
from contextlib import closing

from supportdesk.store import fts, reads
from tests.conftest import Team
from tests.domain.test_mutations import new_ticket


def hits(team: Team, text: str) -> set[int]:
    with team.workspace.reading() as connection:
        page = reads.queue_page(connection, reads.plan_queue(text), limit=100)
    return {r.number for r in page.rows if r.number is not None}


def check_integrity(team: Team) -> None:
    with closing(team.workspace.connect()) as connection:
        fts.integrity_check(connection)


def test_subject_messages_and_people_are_searchable_and_follow_changes(team: Team) -> None:
    first = new_ticket(team, subject="Webhook deliveries failing", body="Timeouts from your server")
    second = new_ticket(team, requester={"value": "bob@example.com", "name": "Bob Baker"})
    tid = first["ticket_id"]
    assert hits(team, "webhook") == {1}
    assert hits(team, "timeouts") == {1}
    assert hits(team, "bob") == {2}
    assert hits(team, '"bob@example.com"') == {2}

    team.as_(team.agent, "ticket.reply", {"ticket_id": tid, "body": "Re-enabled the endpoint"})
    assert hits(team, "endpoint") == {1}
    team.as_(team.agent, "ticket.set_subject", {"ticket_id": tid, "subject": "Callbacks broken"})
    assert hits(team, "webhook") == set()
    assert hits(team, "callbacks") == {1}
    check_integrity(team)

    team.as_(team.agent, "customer.update", {"customer_id": second["requester_id"], "name": "Robert Baker"})
    assert hits(team, "robert") == {2}
    assert hits(team, "bob") == {2}  # still found by the address
    team.as_(
        team.agent, "customer.add_identity", {"customer_id": second["requester_id"], "kind": "chat", "value": "rb77"}
    )
    assert hits(team, "rb77") == {2}
    check_integrity(team)

    team.as_(
        team.agent, "ticket.merge", {"source_id": second["ticket_id"], "target_id": tid, "different_requesters": True}
    )
    assert 1 in hits(team, "refund")
    check_integrity(team)


def test_multi_word_and_phrase_and_prefix(team: Team) -> None:
    new_ticket(team, subject="Card declined at checkout", body="The payment page says do not honor")
    new_ticket(team, subject="Declined invitation", body="The card was fine")
    assert hits(team, "card declined") == {1, 2}
    assert hits(team, '"card declined"') == {1}
    assert hits(team, "honou* OR") == set()
    assert hits(team, "hon*") == {1}
    assert hits(team, "declined -invitation") == {1}


def test_a_rolled_back_write_leaves_the_index_untouched(team: Team) -> None:
    new_ticket(team, subject="Original subject")
    with closing(team.workspace.connect()) as connection:
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("UPDATE ticket SET subject = 'Replaced subject'")
        connection.execute("ROLLBACK")
    assert hits(team, "original") == {1}
    assert hits(team, "replaced") == set()
    check_integrity(team)


def test_bulk_mode_rebuilds_to_the_same_index(team: Team) -> None:
    new_ticket(team, subject="Before the bulk load")
    with closing(team.workspace.connect()) as connection:
        connection.execute("BEGIN IMMEDIATE")
        fts.drop_triggers(connection)
        connection.execute("UPDATE ticket SET subject = 'Rewritten in bulk'")
        fts.rebuild_and_restore(connection)
        connection.execute("COMMIT")
        triggers = connection.execute(
            "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'fts_%'"
        ).fetchone()[0]
    assert triggers == len(fts.TRIGGERS)
    assert hits(team, "bulk") == {1}
    assert hits(team, "before") == set()
    check_integrity(team)


def test_integrity_check_detects_a_stale_index(team: Team) -> None:
    new_ticket(team, subject="Consistent")
    with closing(team.workspace.connect()) as connection:
        fts.drop_triggers(connection)
        connection.execute("UPDATE ticket SET subject = 'Drifted'")
        try:
            fts.integrity_check(connection)
        except sqlite3.DatabaseError:
            return
    raise AssertionError("a stale index passed the integrity check")
