"""Two agents edit the same tickets, online and offline, and both end equal to the server."""

from __future__ import annotations

from tests.live import Deployment
from tests.sync.compare import differences, replica_view, server_count, server_view


def test_two_clients_edit_the_same_tickets_and_converge(deployment: Deployment) -> None:
    team = deployment.team
    sam, tom = deployment.replica("sam"), deployment.replica("tom")
    try:
        sam.sync()
        tom.sync()
        created = sam.apply(
            "ticket.create",
            {
                "subject": "Invoice twice",
                "body": "I paid twice.",
                "requester": {"value": "alice@example.com", "name": "Alice"},
                "group_id": team.tier1,
            },
        ).result
        assert created["number"] is None  # numbers come from the server
        sam.sync()
        tom.sync()
        ticket_id = created["ticket_id"]
        assert tom.rows("SELECT number FROM ticket WHERE id = ?", ticket_id) == [(1,)]
        # both offline: conflicting field edits, tags, notes and a claim
        sam.apply("ticket.set_priority", {"ticket_id": ticket_id, "priority": "high", "seen": "normal"})
        sam.apply("ticket.tag", {"ticket_id": ticket_id, "tags": ["billing", "refund"]})
        sam.apply("ticket.note", {"ticket_id": ticket_id, "body": "Sam: checking the ledger"})
        sam.apply("ticket.assign", {"ticket_id": ticket_id, "assignee_id": sam.agent_id, "expect_assignee": True})
        tom.apply("ticket.set_priority", {"ticket_id": ticket_id, "priority": "urgent", "seen": "normal"})
        tom.apply("ticket.untag", {"ticket_id": ticket_id, "tags": ["refund"]})
        tom.apply("ticket.note", {"ticket_id": ticket_id, "body": "Tom: customer called"})
        tom.apply("ticket.assign", {"ticket_id": ticket_id, "assignee_id": tom.agent_id, "expect_assignee": True})
        tom.apply("ticket.reply", {"ticket_id": ticket_id, "body": "We are on it."})
        sam_summary = sam.sync()
        tom_summary = tom.sync()
        sam.sync()
        # the claim is compare-and-set: Sam got there first, Tom's claim is refused
        assert not sam_summary.refused
        assert [r.name for r in tom_summary.refused] == ["ticket.assign"]
        assert "taken meanwhile by Sam Agent" in tom_summary.refused[0].message
        # last writer wins in server order, and the loser of the race hears about it
        assert any("changed meanwhile by Sam Agent" in w for w in tom_summary.warnings)
        for replica in (sam, tom):
            assert not differences(server_view(team.db, replica.agent_id), replica_view(replica.workspace))
            assert replica.rows("SELECT priority, assignee_id FROM ticket WHERE id = ?", ticket_id) == [
                ("urgent", sam.agent_id)
            ]
            assert replica.rows("SELECT tag FROM ticket_tag WHERE ticket_id = ? ORDER BY tag", ticket_id) == [
                ("billing",)
            ]
            assert replica.rows("SELECT count(*) FROM outbox") == [(0,)]
        assert server_count(team.db, "SELECT count(*) FROM message WHERE ticket_id = :t", t=ticket_id) == 4
    finally:
        sam.close()
        tom.close()


def test_a_ticket_moved_to_another_group_leaves_one_replica_and_reaches_another(deployment: Deployment) -> None:
    team = deployment.team
    sam, bea = deployment.replica("sam"), deployment.replica("bea")
    try:
        created = sam.apply(
            "ticket.create",
            {
                "subject": "Card declined",
                "body": "Why?",
                "requester": {"value": "carl@example.com"},
                "group_id": team.tier1,
            },
        ).result
        sam.apply("ticket.note", {"ticket_id": created["ticket_id"], "body": "billing should take this"})
        sam.sync()
        bea.sync()
        assert bea.rows("SELECT count(*) FROM ticket") == [(0,)]
        sam.apply("ticket.assign", {"ticket_id": created["ticket_id"], "group_id": team.billing, "assignee_id": None})
        sam.sync()
        bea.sync()
        assert sam.rows("SELECT count(*) FROM ticket") == [(0,)]
        assert sam.rows("SELECT count(*) FROM message") == [(0,)]
        assert bea.rows("SELECT count(*) FROM message WHERE ticket_id = ?", created["ticket_id"]) == [(2,)]
        for replica in (sam, bea):
            assert not differences(server_view(team.db, replica.agent_id), replica_view(replica.workspace))
    finally:
        sam.close()
        bea.close()


def test_a_reply_drafted_before_a_newer_customer_message_is_held_as_a_draft(deployment: Deployment) -> None:
    from supportdesk.domain.context import SYSTEM
    from supportdesk.server.apply import apply_as

    sam = deployment.replica("sam")
    try:
        created = sam.apply(
            "ticket.create",
            {"subject": "Late news", "body": "first", "requester": {"value": "late@example.com"}},
        ).result
        sam.sync()
        # offline, Sam answers the message he has seen …
        sam.apply(
            "ticket.reply",
            {"ticket_id": created["ticket_id"], "body": "Try restarting.", "seen_message_id": created["message_id"]},
        )
        # … while the customer writes again (an inbound email, applied by the server itself)
        apply_as(
            deployment.team.db, SYSTEM, "ticket.receive", {"ticket_id": created["ticket_id"], "body": "It's fixed!"}
        )
        summary = sam.sync()
        assert [r.code for r in summary.refused] == ["conflict"]
        assert "newer message from the customer" in summary.refused[0].message
        assert sam.rows("SELECT kind, body FROM draft WHERE ticket_id = ?", created["ticket_id"]) == [
            ("reply", "Try restarting.")
        ]
        assert sam.rows("SELECT count(*) FROM message WHERE body = 'Try restarting.'") == [(0,)]
        assert server_count(deployment.team.db, "SELECT count(*) FROM message WHERE body = 'Try restarting.'") == 0
        assert not differences(server_view(deployment.team.db, sam.agent_id), replica_view(sam.workspace))
    finally:
        sam.close()
