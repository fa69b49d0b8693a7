"""REST writes keep the configuration they read between requests, and read it again when changed.

A REST write runs with the configuration cache open, as a push does
(:mod:`supportdesk.domain.config_cache`): the rules, SLA policies and webhook endpoints it read
are kept for the next write while the database's ``config_version`` is unchanged. A rule or an
endpoint changed by anyone else — another server process, an admin command, a hand-made
``UPDATE`` — counts from the next request; a replay read before the write lock (SQLite: on the
write's own connection) leaves that connection fit for the next write.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import insert, text

from supportdesk.domain.context import SYSTEM
from supportdesk.server.apply import apply_as
from supportdesk.store.models_api import WebhookEndpoint
from tests.live import Deployment

REFUND_RULE = {
    "name": "Refunds",
    "when": ["created"],
    "conditions": {"words": ["refund"]},
    "actions": [{"add_tags": ["refund"]}],
}


def create(
    deployment: Deployment, subject: str, headers: dict[str, str] | None = None, email: str = "alice@example.com"
) -> dict[str, Any]:
    body = {"subject": subject, "body": subject, "requester": {"email": email}, "group": "Tier 1"}
    with deployment.api("sam") as client:
        answer = client.post("/v1/tickets", json=body, headers=headers or {"Idempotency-Key": str(uuid.uuid4())})
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    return created


def execute(deployment: Deployment, sql: str, **params: Any) -> None:
    """What another process would commit."""
    with deployment.team.db.engine.begin() as other:
        other.execute(text(sql), params)


def test_a_rule_changed_by_another_connection_counts_from_the_next_rest_write(deployment: Deployment) -> None:
    apply_as(deployment.team.db, SYSTEM, "rule.create", {"definition": REFUND_RULE})
    assert create(deployment, "A refund please")["tags"] == ["refund"]
    assert create(deployment, "A second refund")["tags"] == ["refund"]  # the same requester: rules kept
    execute(deployment, "UPDATE trigger_rule SET active = :off", off=False)
    assert create(deployment, "Another refund")["tags"] == []
    execute(deployment, "UPDATE trigger_rule SET active = :on", on=True)
    assert create(deployment, "A third refund")["tags"] == ["refund"]


def test_an_endpoint_added_by_another_connection_gets_the_next_rest_writes_events(deployment: Deployment) -> None:
    def queued() -> int:
        with deployment.team.db.engine.connect() as connection:
            return int(connection.execute(text("SELECT count(*) FROM webhook_delivery")).scalar_one())

    create(deployment, "Before any endpoint")
    create(deployment, "Still none")  # "no endpoints" is kept now
    assert queued() == 0
    endpoint = {"id": str(uuid.uuid4()), "url": "http://127.0.0.1:9/hook", "secret": "whsec_test"}
    with deployment.team.db.engine.begin() as other:  # what another process would commit
        other.execute(insert(WebhookEndpoint.__table__).values(**endpoint, events=["ticket.created"]))  # type: ignore[attr-defined]
    create(deployment, "After the endpoint")
    assert queued() == 1


def test_a_replay_before_the_write_leaves_its_connection_fit_to_write(deployment: Deployment) -> None:
    """The replay's read and the next write share a pooled connection (SQLite): the read must not
    keep a snapshot into the write (its BEGIN IMMEDIATE would fail with SQLITE_BUSY_SNAPSHOT once
    anyone else wrote), nor hand a stale answer after the key's answer is stored."""
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    first = create(deployment, "Replayed", headers)
    for round_ in range(5):
        assert create(deployment, "Replayed", headers) == first
        execute(deployment, "UPDATE ticket SET subject = subject WHERE number = :n", n=first["number"])
        assert create(deployment, f"Fresh {round_}")["number"] > first["number"]
    with deployment.api("sam") as client:
        reused = client.post(
            "/v1/tickets",
            json={"subject": "Other", "body": "Other", "requester": {"email": "alice@example.com"}, "group": "Tier 1"},
            headers=headers,
        )
    assert reused.status_code == 422 and reused.json()["error"]["code"] == "idempotency_key_reused"


def test_rest_creates_from_new_requesters_keep_the_rules_and_a_change_elsewhere_still_counts(
    deployment: Deployment,
) -> None:
    """A new requester is not configuration (the rules stay kept), but a rule changed by another
    process counts from the next create all the same."""
    apply_as(deployment.team.db, SYSTEM, "rule.create", {"definition": REFUND_RULE})
    for n in range(3):
        assert create(deployment, f"Refund {n}", email=f"new{n}@example.com")["tags"] == ["refund"]
    execute(deployment, "UPDATE trigger_rule SET active = :off", off=False)
    assert create(deployment, "Another refund", email="new3@example.com")["tags"] == []


def test_a_requester_erased_by_another_process_has_the_next_rest_note_erased(deployment: Deployment) -> None:
    """While nobody is erased the write path skips its erased-text check (kept across new
    requesters' creates); an erasure committed elsewhere turns it back on at the next write."""
    from supportdesk.domain.mutations.privacy import ERASED_TEXT

    ticket = create(deployment, "My address is 1 Main St", email="kim@example.com")
    create(deployment, "Someone else", email="new@example.com")  # a new requester: the cache stays
    execute(
        deployment,
        "UPDATE customer SET erased_at = CURRENT_TIMESTAMP WHERE id = (SELECT requester_id FROM ticket WHERE id = :t)",
        t=ticket["id"],
    )
    with deployment.api("sam") as client:
        answer = client.post(
            f"/v1/tickets/{ticket['number']}/notes",
            json={"body": "Kim still at 1 Main St"},
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
    assert answer.status_code == 201, answer.text
    with deployment.team.db.engine.connect() as connection:
        bodies = [
            r[0] for r in connection.execute(text("SELECT body FROM message WHERE ticket_id = :t"), {"t": ticket["id"]})
        ]
    assert "Kim still at 1 Main St" not in bodies and ERASED_TEXT in bodies
