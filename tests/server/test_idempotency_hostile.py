"""Idempotency keys attacked against a real server: a key sent again by another token of the
same agent, or by another agent, with the same body, must never hand over the first caller's
stored answer — a ticket of a group the second token may not see."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from supportdesk.server import admin
from tests.live import Deployment, api, post_at_once

pytestmark = [pytest.mark.integration]

NEW_TICKET: dict[str, Any] = {
    "subject": "Chargeback on order 5511",
    "body": "The bank reversed the payment.",
    "requester": {"email": "erin@example.com", "name": "Erin Shopper"},
    "group": "Tier 1",
}


def key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


def token(deployment: Deployment, who: str, name: str, **limits: Any) -> httpx.Client:
    _, secret = admin.new_token(deployment.team.db, f"{who}@acme.test", name, **limits)
    return api(deployment.server, secret)


def leaks(answer: httpx.Response, secret_words: str) -> bool:
    """Whether an answer carries anything of the ticket the caller may not see."""
    return answer.status_code < 300 or secret_words in answer.text


def test_a_key_sent_again_by_a_token_restricted_to_other_groups_gets_nothing_of_the_first_answer(
    sqlite_deployment: Deployment,
) -> None:
    """Ada's full token opens a Tier 1 ticket under a key; her token restricted to Billing sends
    the same key and body: a restricted token must not read a Tier 1 ticket through the key."""
    deployment = sqlite_deployment
    headers = key()
    with deployment.api("ada") as full:
        created = full.post("/v1/tickets", json=NEW_TICKET, headers=headers)
        assert created.status_code == 201, created.text
        number = created.json()["number"]
        patch_key = key()
        patched = full.patch(f"/v1/tickets/{number}", json={"priority": "urgent"}, headers=patch_key)
        assert patched.status_code == 200, patched.text
    with token(deployment, "ada", "billing bot", scopes=["tickets:write"], groups=["Billing"]) as bot:
        assert bot.get(f"/v1/tickets/{number}").status_code == 404  # it may not see the ticket
        again = bot.post("/v1/tickets", json=NEW_TICKET, headers=headers)
        assert not leaks(again, "Chargeback"), again.text
        repatched = bot.patch(f"/v1/tickets/{number}", json={"priority": "urgent"}, headers=patch_key)
        assert not leaks(repatched, "Chargeback"), repatched.text
    # the full token (or a rotated one like it) still gets its own answer back
    with token(deployment, "ada", "rotated") as rotated:
        replayed = rotated.post("/v1/tickets", json=NEW_TICKET, headers=headers)
        assert replayed.status_code == 201 and replayed.json() == created.json()
        assert replayed.headers["Idempotent-Replayed"] == "true"


def test_a_key_sent_again_by_another_agent_runs_as_their_own_request(sqlite_deployment: Deployment) -> None:
    deployment = sqlite_deployment
    headers = key()
    with deployment.api("sam") as sam, deployment.api("tom") as tom:
        first = sam.post("/v1/tickets", json=NEW_TICKET, headers=headers)
        second = tom.post("/v1/tickets", json=NEW_TICKET, headers=headers)
    assert first.status_code == second.status_code == 201, (first.text, second.text)
    assert first.json()["id"] != second.json()["id"]
    assert "Idempotent-Replayed" not in second.headers


#: What a read of a ticket adds to the ticket a write answers.
READ_ONLY = ("messages", "merge_suggestion")


def test_a_create_reshaped_by_rules_and_an_sla_answers_what_a_read_shows(deployment: Deployment) -> None:
    """The create's answer is built from the change records it logged: rules that move the new
    ticket to another group, raise its priority, tag and untag it, assign it and auto-reply, an
    SLA policy that starts its clocks, free-form fields and a public first message must leave
    the answer equal to a ``GET`` of the ticket, ``ETag`` included."""
    from supportdesk.domain.context import SYSTEM
    from supportdesk.server.apply import apply_as

    db = deployment.team.db
    policy = {"name": "Urgent", "priority": "urgent", "first_reply_minutes": 15, "resolution_minutes": 240}
    apply_as(db, SYSTEM, "sla.policy.create", policy)
    rules = [
        {
            "name": "Chargebacks to Billing",
            "when": ["created"],
            "conditions": {"words": ["chargeback"]},
            "actions": [
                {"set_group": "Billing"},
                {"set_priority": "urgent"},
                {"add_tags": ["routed", "money"]},
                {"remove_tags": ["inbox"]},
                {"assign": "bea@acme.test"},
                {"auto_reply": "We are looking into your chargeback."},
            ],
        },
        {
            "name": "Tag the urgent",
            "when": ["created", "updated"],
            "conditions": {"priority": ["urgent"]},
            "actions": [{"add_tags": ["hot"]}],
        },
    ]
    for position, rule in enumerate(rules):
        apply_as(db, SYSTEM, "rule.create", {"definition": {**rule, "position": position}})
    body = {
        **NEW_TICKET,
        "public": True,
        "tags": ["inbox", "zeta"],
        "fields": {"order": 5511, "vip": True, "ratio": 1.5, "note": "gift", "empty": None},
    }
    with deployment.api("ada") as client:
        created = client.post("/v1/tickets", json=body, headers=key())
        assert created.status_code == 201, created.text
        answer = created.json()
        shown = client.get(f"/v1/tickets/{answer['number']}")
        assert shown.status_code == 200, shown.text
    read = {name: value for name, value in shown.json().items() if name not in READ_ONLY}
    # the rules did run (so the comparison covers what they did)
    assert read["group_id"] == deployment.team.billing and read["priority"] == "urgent"
    assert read["assignee_id"] == deployment.team.ids["bea"]
    assert "routed" in read["tags"] and "hot" in read["tags"] and "inbox" not in read["tags"]
    assert answer == read
    assert created.headers["ETag"] == shown.headers["ETag"]


def test_simultaneous_retries_of_a_refused_create_all_get_one_refusal_and_leave_nothing(
    deployment: Deployment,
) -> None:
    """A refused write is rolled back whole and its refusal stored in a second transaction: the
    retries racing it must each get that same refusal (one of them the first, the rest replays),
    and no ticket or customer may be left behind."""
    body = {**NEW_TICKET, "requester": {"email": "racer@example.com"}, "status": "closed"}
    headers = {**key(), "Authorization": f"Bearer {deployment.team.tokens['ada']}"}
    answers = post_at_once(deployment.server, "/v1/tickets", body, headers, 5)
    assert {response.status_code for response in answers} == {409}, [r.text for r in answers]
    assert len({response.text for response in answers}) == 1
    assert sum("Idempotent-Replayed" not in response.headers for response in answers) == 1
    with deployment.team.db.engine.connect() as connection:
        from sqlalchemy import text

        left = connection.execute(text("SELECT count(*) FROM identity WHERE value = 'racer@example.com'")).scalar()
        stored = connection.execute(
            text("SELECT count(*) FROM api_idempotency WHERE key = :k"), {"k": headers["Idempotency-Key"]}
        ).scalar()
    assert left == 0 and stored == 1


def test_a_retried_macro_apply_gets_its_stored_answer_after_the_macro_is_gone(sqlite_deployment: Deployment) -> None:
    """The first apply ran (its answer lost on the way); the macro is then deleted, or the ticket
    moved to a group the agent does not see. The retry with the same key must get the stored
    answer — a 404 would tell the integration that nothing was applied, and it was."""
    from supportdesk.domain.context import SYSTEM
    from supportdesk.server.apply import apply_as

    deployment = sqlite_deployment
    db = deployment.team.db
    with deployment.api("sam") as sam:
        created = sam.post("/v1/tickets", json=NEW_TICKET, headers=key())
        assert created.status_code == 201, created.text
        number, ticket_id = created.json()["number"], created.json()["id"]
        macro, _ = apply_as(db, SYSTEM, "macro.create", {"name": "Refunded", "body": "We refunded it."})
        macro_id = str(macro["macro_id"])
        headers = key()
        applied = sam.post(f"/v1/tickets/{number}/macros/{macro_id}", headers=headers)
        assert applied.status_code == 200, applied.text
        apply_as(db, SYSTEM, "macro.delete", {"id": macro_id})
        again = sam.post(f"/v1/tickets/{number}/macros/{macro_id}", headers=headers)
        assert again.status_code == 200, again.text
        assert again.json() == applied.json() and again.headers["Idempotent-Replayed"] == "true"
        apply_as(db, SYSTEM, "ticket.assign", {"ticket_id": ticket_id, "group_id": deployment.team.billing})
        moved = sam.post(f"/v1/tickets/{number}/macros/{macro_id}", headers=headers)
        assert moved.status_code == 200 and moved.json() == applied.json(), moved.text
