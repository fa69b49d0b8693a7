"""Routing rules: conditions, actions as mutations, assignment, loop safety, authority only."""

from __future__ import annotations

import json
from typing import Any

import pytest

from supportdesk.domain import write
from supportdesk.domain.context import SYSTEM
from supportdesk.domain.errors import NotFound, ValidationFailed
from supportdesk.store.workspace import Workspace
from tests.conftest import Team


def rule(team: Team, **definition: Any) -> str:
    definition.setdefault("when", ["created"])
    return str(
        write.apply(team.workspace, "rule.create", {"definition": definition}, actor=team.admin).result["rule_id"]
    )


def new_ticket(team: Team, subject: str = "Hello", body: str = "Hi there", **extra: Any) -> str:
    args = {"subject": subject, "body": body, "requester": {"value": "kim@example.com", "name": "Kim Park"}, **extra}
    return str(write.apply(team.workspace, "ticket.create", args, actor=SYSTEM).result["ticket_id"])


def ticket(ws: Workspace, ticket_id: str) -> dict[str, Any]:
    with ws.reading() as connection:
        row = dict(connection.execute("SELECT * FROM ticket WHERE id = ?", (ticket_id,)).fetchone())
        row["tags"] = [r[0] for r in connection.execute("SELECT tag FROM ticket_tag WHERE ticket_id = ?", (ticket_id,))]
    return row


def fired(ws: Workspace, ticket_id: str) -> list[tuple[str, Any]]:
    with ws.reading() as connection:
        return [
            (r[0], json.loads(r[1]))
            for r in connection.execute(
                "SELECT field, after FROM audit_event WHERE entity_id = ? AND field LIKE 'rule.%' ORDER BY id",
                (ticket_id,),
            )
        ]


def test_a_rule_routes_and_tags_a_new_ticket(team: Team) -> None:
    rule(
        team,
        name="Refunds to Billing",
        conditions={"words": ["refund", "chargeback"], "channel": ["email", "web"]},
        actions=[{"set_group": "Billing"}, {"add_tags": ["refund"]}, {"set_priority": "high"}],
    )
    refund = new_ticket(team, "Where is my REFUND?", channel="email")
    chat = new_ticket(team, "Where is my refund?", channel="chat")
    other = new_ticket(team, "Password reset", channel="email")
    routed = ticket(team.workspace, refund)
    assert (routed["group_id"], routed["tags"], routed["priority"]) == (team.billing, ["refund"], "high")
    assert fired(team.workspace, refund) == [("rule.fired", "Refunds to Billing")]
    assert ticket(team.workspace, chat)["group_id"] is None
    assert ticket(team.workspace, other)["group_id"] is None and fired(team.workspace, other) == []


def test_conditions_on_requester_organization_tags_and_group(team: Team) -> None:
    ws = team.workspace
    org = write.apply(ws, "organization.create", {"name": "Acme", "domain": "acme.test"}, actor=SYSTEM).result
    write.apply(
        ws,
        "customer.create",
        {
            "name": "Vic Ip",
            "organization_id": org["organization_id"],
            "identities": [{"kind": "email", "value": "vic@acme.test"}],
        },
        actor=SYSTEM,
    )
    rule(
        team,
        name="Acme VIPs",
        conditions={"all": {"organization": "acme.test"}, "any": {"tags": ["vip"], "priority": "urgent"}},
        actions=[{"add_tags": ["acme"]}],
    )
    rule(team, name="Kim", conditions={"requester": "KIM@example.com", "group": "none"}, actions=[{"add_tags": "kim"}])
    acme = write.apply(
        ws,
        "ticket.create",
        {"subject": "x", "body": "y", "requester": {"value": "vic@acme.test"}, "tags": ["vip"]},
        actor=SYSTEM,
    ).result["ticket_id"]
    plain_acme = write.apply(
        ws, "ticket.create", {"subject": "x", "body": "y", "requester": {"value": "vic@acme.test"}}, actor=SYSTEM
    ).result["ticket_id"]
    kim = new_ticket(team)
    assert ticket(ws, acme)["tags"] == ["acme", "vip"]
    assert ticket(ws, plain_acme)["tags"] == []
    assert ticket(ws, kim)["tags"] == ["kim"]


def test_round_robin_takes_turns_and_least_loaded_evens_out(team: Team) -> None:
    ws = team.workspace
    third = write.apply(
        ws, "agent.create", {"name": "Abe Able", "email": "abe@acme.test", "group_ids": [team.tier1]}, actor=SYSTEM
    ).result["agent_id"]
    in_turn = rule(team, name="Tier 1 in turn", conditions={"group": "Tier 1"}, actions=[{"assign": "round_robin"}])
    turns = [ticket(ws, new_ticket(team, group_id=team.tier1))["assignee_id"] for _ in range(4)]
    # agents of Tier 1 by name: Abe Able, Sam Agent (light agents never get tickets)
    assert turns == [third, team.agent.id, third, team.agent.id]

    write.apply(ws, "rule.delete", {"id": in_turn}, actor=team.admin)
    for _ in range(3):
        new_ticket(team, group_id=team.tier1, assignee_id=third)
    rule(team, name="Least loaded", conditions={"tags": "balance"}, actions=[{"assign": "least_loaded"}])
    # Abe has 5 unsolved tickets, Sam 2: the next one goes to Sam
    balanced = new_ticket(team, group_id=team.tier1, tags=["balance"])
    assert ticket(ws, balanced)["assignee_id"] == team.agent.id


def test_an_auto_reply_is_public_rendered_and_stops_no_clock(team: Team) -> None:
    ws = team.workspace
    write.apply(
        ws, "sla.policy.create", {"name": "Normal", "priority": "normal", "first_reply_minutes": 60}, actor=SYSTEM
    )
    rule(
        team,
        name="Thanks",
        conditions={"channel": "web"},
        actions=[{"auto_reply": "Hi {{ ticket.requester.first_name }}, we got #{{ ticket.number }}."}],
    )
    ticket_id = new_ticket(team, channel="web")
    with ws.reading() as connection:
        rows = connection.execute(
            "SELECT body, public, author_kind, meta FROM message WHERE ticket_id = ? ORDER BY rowid", (ticket_id,)
        ).fetchall()
        timing = connection.execute(
            "SELECT first_reply_due, replies FROM ticket_timing WHERE ticket_id = ?", (ticket_id,)
        ).fetchone()
    number = ticket(ws, ticket_id)["number"]
    assert (rows[1][0], rows[1][1], rows[1][2]) == (f"Hi Kim, we got #{number}.", 1, "system")
    assert json.loads(rows[1][3])["auto_reply"] is True
    stored = ticket(ws, ticket_id)
    assert (stored["status"], stored["first_response_at"]) == ("new", None)
    assert timing[0] is not None and timing[1] == 0


def test_rules_can_never_loop(team: Team) -> None:
    """Ping answers pong and pong answers ping: a naive engine would never stop."""
    ws = team.workspace
    rule(
        team,
        name="ping",
        position=1,
        when=["updated"],
        conditions={"tags": "pong"},
        actions=[{"remove_tags": "pong"}, {"add_tags": "ping"}],
    )
    rule(
        team,
        name="pong",
        position=2,
        when=["updated"],
        conditions={"tags": "ping"},
        actions=[{"remove_tags": "ping"}, {"add_tags": "pong"}],
    )
    rule(team, name="always", position=3, when=["created", "updated"], actions=[{"add_tags": "seen"}])
    ticket_id = new_ticket(team)
    assert fired(ws, ticket_id) == [("rule.fired", "always")]
    write.apply(ws, "ticket.tag", {"ticket_id": ticket_id, "tags": ["pong"]}, actor=team.agent)
    # one pass: ping fires (its change is not an update that starts a pass), then pong, then always
    assert fired(ws, ticket_id)[1:] == [("rule.fired", "ping"), ("rule.fired", "pong"), ("rule.fired", "always")]
    assert ticket(ws, ticket_id)["tags"] == ["pong", "seen"]
    # the next change made by a person starts exactly one more pass
    write.apply(ws, "ticket.set_priority", {"ticket_id": ticket_id, "priority": "low"}, actor=team.agent)
    assert fired(ws, ticket_id)[4:] == [("rule.fired", "ping"), ("rule.fired", "pong"), ("rule.fired", "always")]


def test_a_failing_rule_is_rolled_back_alone(team: Team) -> None:
    ws = team.workspace
    rule(team, name="Broken", position=1, actions=[{"add_tags": "half"}, {"assign": "bea@acme.test"}])
    rule(team, name="Fine", position=2, actions=[{"add_tags": "fine"}])
    ticket_id = new_ticket(team, group_id=team.tier1)
    events = fired(ws, ticket_id)
    assert events[0][0] == "rule.failed" and events[0][1]["rule"] == "Broken"
    assert "not in group" in events[0][1]["error"]
    assert events[1] == ("rule.fired", "Fine")
    assert ticket(ws, ticket_id)["tags"] == ["fine"]


def test_rules_run_only_on_the_authority(team: Team) -> None:
    ws = team.workspace
    rule(team, name="Tag everything", actions=[{"add_tags": "ruled"}])
    connection = ws.connect()
    try:
        connection.execute("UPDATE sync_state SET server_url = 'https://support.example' WHERE id = 1")
    finally:
        connection.close()
    ticket_id = new_ticket(team)
    assert ticket(ws, ticket_id)["tags"] == []
    assert fired(ws, ticket_id) == []


@pytest.mark.parametrize(
    ("definition", "error", "message"),
    [
        ({"name": "x", "actions": [{"explode": 1}]}, ValidationFailed, "is not an action"),
        (
            {"name": "x", "conditions": {"colour": "red"}, "actions": [{"add_tags": "a"}]},
            ValidationFailed,
            "not a condition",
        ),
        (
            {"name": "x", "conditions": {"priority": "huge"}, "actions": [{"add_tags": "a"}]},
            ValidationFailed,
            "not a priority",
        ),
        ({"name": "x", "when": ["sometimes"], "actions": [{"add_tags": "a"}]}, ValidationFailed, "when"),
        ({"name": "x", "actions": [{"set_group": "Nowhere"}]}, NotFound, "no group called Nowhere"),
        ({"name": "x", "actions": [{"assign": "ghost@acme.test"}]}, NotFound, "no agent"),
        ({"name": "x", "actions": [{"auto_reply": "Hi {{ ticket.nmber }}"}]}, Exception, "unknown placeholder"),
        ({"name": "x", "actions": []}, ValidationFailed, "actions"),
    ],
)
def test_bad_rules_are_refused_with_a_reason(
    team: Team, definition: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        write.apply(team.workspace, "rule.create", {"definition": definition}, actor=team.admin)


def test_an_imported_ticket_starts_no_rule(team: Team) -> None:
    """Rules that listen for new and changed tickets stay quiet for tickets copied in by an import:
    an old ticket must not be auto-replied to or re-routed because it moved systems."""
    rule(
        team,
        name="Everything to Billing",
        when=["created", "updated"],
        conditions={},
        actions=[{"set_group": "Billing"}, {"add_tags": ["ruled"]}],
    )
    customer = write.apply(
        team.workspace,
        "customer.create",
        {"name": "Old Timer", "identities": [{"kind": "email", "value": "old@example.com"}]},
        actor=SYSTEM,
    ).result["customer_id"]
    imported = write.apply(
        team.workspace,
        "ticket.import",
        {
            "subject": "From the old desk",
            "requester_id": customer,
            "created_at": "2019-03-01T10:00:00+00:00",
            "messages": [
                {
                    "channel": "email",
                    "direction": "inbound",
                    "author_kind": "customer",
                    "author_customer_id": customer,
                    "body": "My invoice from 2019 is wrong.",
                    "created_at": "2019-03-01T10:00:00+00:00",
                }
            ],
        },
        actor=team.admin,
    ).result["ticket_id"]
    assert ticket(team.workspace, imported)["group_id"] is None
    assert ticket(team.workspace, imported)["tags"] == []
    assert fired(team.workspace, imported) == []
    fresh = new_ticket(team, "Made here")  # the same rule still runs on a ticket made here
    assert ticket(team.workspace, fresh)["tags"] == ["ruled"]
