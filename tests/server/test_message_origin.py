"""A client cannot forge where a message came from: the server sets the author, the direction and
the channel metadata from the authenticated agent, and refuses the mutations only its own
channels, rules and survey links make."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from tests.live import Deployment
from tests.server.test_api import push

FORGED_MAIL = {
    "email": {
        "from": "ceo@customer.test",
        "message_id": "<forged@customer.test>",
        "authentication": {"dmarc": "pass", "spf": "pass", "dkim": "pass"},
        "signed_reference": "t1.abcdef.signature",
    },
    "received_from_channel": True,
}


def server_message(deployment: Deployment, message_id: str) -> dict[str, Any]:
    with deployment.team.db.engine.connect() as connection:
        row = connection.execute(
            text(
                "SELECT author_kind, author_agent_id, author_customer_id, direction, meta, public "
                "FROM message WHERE id = :id"
            ),
            {"id": message_id},
        ).one()
    meta = row[4] if isinstance(row[4], dict) else __import__("json").loads(row[4] or "{}")
    return {
        "author_kind": row[0],
        "author_agent_id": row[1],
        "author_customer_id": row[2],
        "direction": row[3],
        "meta": meta,
        "public": bool(row[5]),
    }


def test_an_agent_cannot_write_as_the_customer_or_with_channel_metadata(deployment: Deployment) -> None:
    sam = deployment.team.ids["sam"]
    with deployment.api("sam") as client:
        created = {
            "subject": "Please cancel my contract",
            "body": "I, the customer, agree to pay the cancellation fee.",
            "requester": {"value": "victim@customer.test"},
            "author": "customer",
            "meta": FORGED_MAIL,
            "group_id": deployment.team.tier1,
        }
        outcome = push(client, "forger-1", [{"id": 1, "name": "ticket.create", "args": created}]).json()["results"][0]
        assert outcome["ok"], outcome
        first = server_message(deployment, outcome["result"]["message_id"])
        assert first["author_kind"] == "agent" and first["author_agent_id"] == sam
        assert first["author_customer_id"] is None
        assert first["direction"] == "outbound"
        assert first["meta"] == {}
        assert first["public"] is False, "the customer's words as Sam wrote them down: his note, never sent"

        ticket_id = outcome["result"]["ticket_id"]
        reply = {"ticket_id": ticket_id, "body": "Signed and verified.", "meta": FORGED_MAIL}
        answer = push(client, "forger-1", [{"id": 2, "name": "ticket.reply", "args": reply}]).json()["results"][0]
        assert answer["ok"], answer
        replied = server_message(deployment, answer["result"]["message_id"])
        assert replied["meta"] == {} and replied["author_agent_id"] == sam

        proactive = {"subject": "Your order", "body": "It ships today.", "requester": {"value": "b@customer.test"}}
        proactive |= {"author": "agent", "meta": FORGED_MAIL}
        sent = push(client, "forger-1", [{"id": 3, "name": "ticket.create", "args": proactive}]).json()["results"][0]
        ours = server_message(deployment, sent["result"]["message_id"])
        assert (ours["author_kind"], ours["public"], ours["meta"]) == ("agent", True, {})

        # what the client pulls is the server's truth, not what it claimed
        pulled = client.get("/v1/pull", params={"cursor": 0}).json()["changes"]
        messages = {c["data"]["id"]: c["data"] for c in pulled if c["entity"] == "message" and c["op"] == "upsert"}
        assert messages[outcome["result"]["message_id"]]["author_kind"] == "agent"
        assert all(not m["meta"] for m in messages.values())


def test_only_the_server_adds_customer_messages_auto_replies_and_survey_answers(deployment: Deployment) -> None:
    with deployment.api("sam") as sam, deployment.api("ada") as ada:
        created = {"subject": "Hi", "body": "Opened by Sam.", "requester": {"value": "ann@customer.test"}}
        ticket = push(sam, "sam-origin", [{"id": 1, "name": "ticket.create", "args": created}]).json()["results"][0]
        ticket_id = ticket["result"]["ticket_id"]
        forged = [
            ("sam", sam, "ticket.receive", {"ticket_id": ticket_id, "body": "I am the customer", "meta": FORGED_MAIL}),
            ("ada", ada, "ticket.receive", {"ticket_id": ticket_id, "body": "So am I"}),
            ("ada", ada, "ticket.auto_reply", {"ticket_id": ticket_id, "rule_id": "r", "template": "Got it"}),
            ("ada", ada, "survey.answer", {"token": "x", "csat": "good"}),
        ]
        next_id = {"sam": 2, "ada": 1}
        for who, client, name, args in forged:
            mutation = {"id": next_id[who], "name": name, "args": args}
            outcome = push(client, f"{who}-origin", [mutation]).json()["results"][0]
            assert not outcome["ok"], (name, outcome)
            assert outcome["error"]["code"] == "forbidden" and outcome["error"]["field"] == "name"
            assert "cannot be pushed" in outcome["error"]["message"]
            next_id[who] += 1
        # each refusal consumed its id: the next change of each client goes through
        note = {"ticket_id": ticket_id, "body": "still here"}
        assert push(sam, "sam-origin", [{"id": next_id["sam"], "name": "ticket.note", "args": note}]).json()["results"][
            0
        ]["ok"]
    with deployment.team.db.engine.connect() as connection:
        kinds = [
            row[0]
            for row in connection.execute(
                text("SELECT author_kind FROM message WHERE ticket_id = :t ORDER BY created_at"), {"t": ticket_id}
            )
        ]
    assert "customer" not in kinds and "system" not in kinds
