"""SLAs, rules and surveys through sync: the server's clocks replace a client's optimistic ones, and
rules and surveys run once — on the server — for a change a client pushed."""

from __future__ import annotations

import json
from typing import Any

from supportdesk.domain.context import SYSTEM
from supportdesk.protocol import SCHEMA_VERSION
from supportdesk.server.apply import apply_as
from supportdesk.server.changes import read_row
from supportdesk.store.sla import NO_DEADLINE, page_sla
from supportdesk.store.times import to_db
from supportdesk.sync.rows import spec, wire_row
from tests.cli.helpers import supportdesk
from tests.live import Deployment, Replica
from tests.sync.compare import differences, replica_view, server_count, server_view

RULE = {
    "name": "Refunds tagged and acknowledged",
    "when": ["created"],
    "conditions": {"all": {"words": ["refund"]}},
    "actions": [
        {"add_tags": ["refund"]},
        {"auto_reply": "Hi {{ ticket.requester.first_name }}, we have your refund request #{{ ticket.number }}."},
    ],
}


def server_timing(deployment: Deployment, ticket_id: str) -> dict[str, Any]:
    with deployment.team.db.engine.connect() as connection:
        row = read_row(connection, "ticket_timing", (ticket_id,))
    assert row is not None
    return row


def replica_timing(replica: Replica, ticket_id: str) -> dict[str, Any]:
    table = spec("ticket_timing")
    (values,) = replica.rows(f"SELECT {', '.join(table.columns)} FROM ticket_timing WHERE ticket_id = ?", ticket_id)
    return wire_row(table, values)


def test_a_rule_fires_once_on_the_server_for_a_pushed_change_and_the_client_shows_it(deployment: Deployment) -> None:
    team = deployment.team
    apply_as(team.db, SYSTEM, "rule.create", {"definition": RULE})
    sam, tom = deployment.replica("sam"), deployment.replica("tom")
    try:
        assert sam.rows("SELECT name FROM trigger_rule") == [(RULE["name"],)]  # listed on every replica
        ticket_id = sam.apply(
            "ticket.create",
            {
                "subject": "Refund for order 1001",
                "body": "I was charged twice.",
                "requester": {"value": "alice@example.com", "name": "Alice Jones"},
                "group_id": team.tier1,
            },
        ).result["ticket_id"]
        # a synced client never runs rules itself: nothing happens until the server has it
        assert sam.rows("SELECT count(*) FROM ticket_tag WHERE ticket_id = ?", ticket_id) == [(0,)]
        assert sam.rows("SELECT count(*) FROM message WHERE ticket_id = ?", ticket_id) == [(1,)]
        (entry,) = sam.rows("SELECT id, name, args FROM outbox")
        sam.sync()
        fired = "SELECT count(*) FROM audit_event WHERE entity_id = :t AND field = 'rule.fired'"
        assert server_count(team.db, fired, t=ticket_id) == 1
        assert sam.rows("SELECT tag FROM ticket_tag WHERE ticket_id = ?", ticket_id) == [("refund",)]
        replies = sam.rows(
            "SELECT body, public FROM message WHERE ticket_id = ? AND author_kind = 'system' ORDER BY created_at",
            ticket_id,
        )
        assert replies == [("Hi Alice, we have your refund request #1.", 1)]
        # more syncs, another replica, and the same push sent again: still exactly one firing
        client_id = sam.rows("SELECT client_id FROM sync_state")[0][0]
        (again,) = push_again(deployment, client_id, entry)
        assert again["replayed"] and again["ok"]
        sam.sync()
        tom.sync()
        tom.apply("ticket.note", {"ticket_id": ticket_id, "body": "Refund approved by finance."})
        tom.sync()
        sam.sync()
        assert server_count(team.db, fired, t=ticket_id) == 1
        assert server_count(team.db, "SELECT count(*) FROM message WHERE ticket_id = :t", t=ticket_id) == 3
        # surveys too are the server's: solving offline issues none, the pull brings the server's one
        sam.apply("ticket.reply", {"ticket_id": ticket_id, "body": "Refunded.", "status": "solved"})
        assert sam.rows("SELECT count(*) FROM survey") == [(0,)]
        sam.sync()
        tom.sync()
        assert server_count(team.db, "SELECT count(*) FROM survey WHERE ticket_id = :t", t=ticket_id) == 1
        assert sam.rows("SELECT ticket_id, answered_at FROM survey") == [(ticket_id, None)]
        for replica in (sam, tom):
            assert not differences(server_view(team.db, replica.agent_id), replica_view(replica.workspace))
    finally:
        sam.close()
        tom.close()


def push_again(deployment: Deployment, client_id: str, entry: tuple[Any, ...]) -> list[dict[str, Any]]:
    """Push an acknowledged outbox entry again, as a client that lost the acknowledgement would."""
    mutation_id, name, args = entry
    mutation = {"id": mutation_id, "name": name, "args": json.loads(args)}
    body = {"client_id": client_id, "schema_version": SCHEMA_VERSION, "mutations": [mutation]}
    with deployment.api("sam") as http:
        return list(http.post("/v1/push", json=body).json()["results"])


def test_clocks_on_a_synced_client_are_the_servers(deployment: Deployment) -> None:
    team = deployment.team
    policy = {"name": "Normal", "priority": "normal", "first_reply_minutes": 60, "next_reply_minutes": 30}
    apply_as(team.db, SYSTEM, "sla.policy.create", {**policy, "resolution_minutes": 480})
    sam, tom = deployment.replica("sam"), deployment.replica("tom")
    try:
        # the customer's mail, written by the server as its channels write it (a client can only
        # open a ticket as its agent: see tests/server/test_message_origin.py)
        ticket_id = apply_as(
            team.db,
            SYSTEM,
            "ticket.create",
            {"subject": "Cannot log in", "body": "Since Monday.", "requester": {"value": "kim@example.com"}},
        )[0]["ticket_id"]
        sam.sync()
        server = server_timing(deployment, ticket_id)
        assert server["policy_id"] is not None and server["due_at"] != "9999-12-31 00:00:00.000000"
        assert replica_timing(sam, ticket_id) == server
        assert len(server["history"]) == 2  # created, inbound: none twice
        # another agent's reply stops the first-reply clock on the server; Sam's pull brings it
        tom.sync()
        tom.apply("ticket.reply", {"ticket_id": ticket_id, "body": "Try a reset link.", "status": "pending"})
        tom.sync()
        sam.sync()
        server = server_timing(deployment, ticket_id)
        assert server["paused"] is True and server["first_reply_s"] is not None
        assert replica_timing(sam, ticket_id) == server
        # Sam works offline on top of a newer server state: the rebase keeps the server's clocks
        # and re-runs Sam's change over them
        sam.apply("ticket.set_status", {"ticket_id": ticket_id, "status": "open"})
        assert replica_timing(sam, ticket_id)["paused"] is False  # optimistic
        tom.apply("ticket.tag", {"ticket_id": ticket_id, "tags": ["login"]})
        tom.sync()
        sam.sync()
        server = server_timing(deployment, ticket_id)
        assert server["paused"] is False
        assert replica_timing(sam, ticket_id) == server
        with sam.workspace.reading() as connection:
            shown = page_sla(connection, [ticket_id])[ticket_id]  # what the queue's SLA column reads
        assert shown.due_at is not None and to_db(shown.due_at) == server["due_at"]
        tom.sync()
        for replica in (sam, tom):
            assert not differences(server_view(team.db, replica.agent_id), replica_view(replica.workspace))
    finally:
        sam.close()
        tom.close()


def test_a_server_upgraded_from_before_slas_rebuilds_its_clocks_and_the_replicas_get_them(
    deployment: Deployment,
) -> None:
    team = deployment.team
    policy = {"name": "Normal", "priority": "normal", "first_reply_minutes": 60, "resolution_minutes": 600}
    apply_as(team.db, SYSTEM, "sla.policy.create", policy)
    sam = deployment.replica("sam")
    try:
        ticket_id = apply_as(
            team.db,
            SYSTEM,
            "ticket.create",
            {"subject": "Slow site", "body": "Very slow.", "requester": {"value": "lu@example.com"}},
        )[0]["ticket_id"]
        sam.sync()
        sam.apply("ticket.reply", {"ticket_id": ticket_id, "body": "Looking.", "status": "pending"})
        sam.sync()
        kept = server_timing(deployment, ticket_id)
        assert kept["first_reply_s"] is not None and kept["paused"] is True
        # what the 0005 migration leaves on both sides: an empty row per ticket
        with team.db.engine.begin() as connection:
            connection.execute(empty_timing(), EMPTY)
        with sam.workspace.engine.begin() as connection:
            connection.execute(empty_timing(), EMPTY)
        refused = supportdesk("-w", str(sam.workspace.root), "sla", "rebuild")
        assert refused.returncode == 2 and refused.stderr.count("\n") == 1
        assert "takes its clocks from it" in refused.stderr
        done = supportdesk("sla", "rebuild", "--db", deployment.server.db)
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("rebuilt the clocks of 1 tickets")
        assert server_timing(deployment, ticket_id) == kept
        sam.sync()
        assert replica_timing(sam, ticket_id) == kept
    finally:
        sam.close()


EMPTY = {"nothing": [], "no_deadline": NO_DEADLINE, "no": False}


def empty_timing() -> Any:
    from sqlalchemy import JSON, Boolean, bindparam, text
    from sqlmodel.sql.sqltypes import UTCDateTime

    return text(
        "UPDATE ticket_timing SET history = :nothing, clocks = :nothing, due_at = :no_deadline, paused = :no, "
        "policy_id = NULL, first_reply_s = NULL, replies = 0, first_reply_due = NULL, breach_at = NULL"
    ).bindparams(
        bindparam("nothing", type_=JSON()),
        bindparam("no_deadline", type_=UTCDateTime()),
        bindparam("no", type_=Boolean()),
    )
