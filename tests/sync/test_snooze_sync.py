"""A snooze travels: pushed to the server (SQLite and PostgreSQL), pulled by another agent's
replica, and a customer's message on the server wakes it everywhere."""

from __future__ import annotations

from datetime import timedelta

from supportdesk.domain.context import SYSTEM
from supportdesk.server.apply import apply_as
from supportdesk.store.times import utcnow
from tests.live import Deployment
from tests.sync.compare import differences, replica_view, server_count, server_view


def test_a_snooze_syncs_and_a_customer_message_on_the_server_wakes_it(deployment: Deployment) -> None:
    team = deployment.team
    sam, tom = deployment.replica("sam"), deployment.replica("tom")
    try:
        ticket_id = sam.apply(
            "ticket.create",
            {
                "subject": "Waiting for the courier",
                "body": "Where is my parcel?",
                "requester": {"value": "alice@example.com", "name": "Alice Jones"},
                "group_id": team.tier1,
            },
        ).result["ticket_id"]
        sam.sync()
        until = utcnow() + timedelta(days=2)
        sam.apply("ticket.snooze", {"ticket_id": ticket_id, "until": until.isoformat()})
        sam.sync()
        tom.sync()
        snoozed = "SELECT count(*) FROM ticket WHERE id = :t AND snoozed_until IS NOT NULL AND snoozed_by_id = :a"
        assert server_count(team.db, snoozed, t=ticket_id, a=sam.agent_id) == 1
        assert tom.rows("SELECT snoozed_by_id FROM ticket WHERE id = ?", ticket_id) == [(sam.agent_id,)]
        apply_as(team.db, SYSTEM, "ticket.receive", {"ticket_id": ticket_id, "body": "Any news?"})
        sam.sync()
        tom.sync()
        woken = "SELECT count(*) FROM ticket WHERE id = :t AND snoozed_until IS NULL"
        assert server_count(team.db, woken, t=ticket_id) == 1
        for replica in (sam, tom):
            assert replica.rows("SELECT snoozed_until FROM ticket WHERE id = ?", ticket_id) == [(None,)]
            assert not differences(server_view(team.db, replica.agent_id), replica_view(replica.workspace))
    finally:
        sam.close()
        tom.close()
