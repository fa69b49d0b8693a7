"""REST writes against a real server (SQLite and PostgreSQL): create, reply, note and PATCH run the
same mutations as the console, with Idempotency-Key and If-Match, and refuse what an integration
may not do or claim."""

from __future__ import annotations

import socket
import uuid
from typing import Any

from sqlalchemy import text

from supportdesk.domain.context import SYSTEM
from supportdesk.server.apply import apply_as
from tests.live import Deployment, post_at_once

NEW_TICKET: dict[str, Any] = {
    "subject": "Payment failed for order 1042",
    "body": "The card was declined twice.",
    "requester": {"email": "alice@example.com", "name": "Alice Doe"},
    "group": "Tier 1",
    "priority": "high",
    "tags": ["payment"],
}


def key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


def customer_ticket(deployment: Deployment, group_id: str) -> int:
    """A ticket a customer opened through a channel (written by the server as the system)."""
    args = {"subject": "Printer on fire", "body": "It smokes.", "requester": {"value": "carol@example.com"}}
    result, _ = apply_as(deployment.team.db, SYSTEM, "ticket.create", {**args, "group_id": group_id})
    return int(result["number"])


def count(deployment: Deployment, sql: str, **params: Any) -> int:
    with deployment.team.db.engine.connect() as connection:
        return int(connection.execute(text(sql), params).scalar_one())


def declared_too_large(deployment: Deployment, path: str, length: int) -> tuple[int, bytes]:
    """POST a body that declares ``length`` bytes and send only its start: the server answers
    413 from the header (on a raw socket, so the client is not still sending when it does)."""
    token = deployment.team.tokens["sam"]
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", deployment.server.port), timeout=30) as connection:
        connection.sendall(head.encode() + b'{"body": "xxxx')
        received = b""
        while b"\r\n\r\n" not in received or not received.endswith(b"}"):
            chunk = connection.recv(65536)
            if not chunk:
                break
            received += chunk
    status = int(received.split(b" ", 2)[1])
    return status, received.split(b"\r\n\r\n", 1)[1]


def test_a_create_with_a_key_runs_once_and_a_retry_gets_the_first_answer(deployment: Deployment) -> None:
    headers = key()
    with deployment.api("sam") as client:
        first = client.post("/v1/tickets", json=NEW_TICKET, headers=headers)
        assert first.status_code == 201, first.text
        created = first.json()
        assert created["number"] >= 1 and created["status"] == "new" and created["priority"] == "high"
        assert created["tags"] == ["payment"]
        assert first.headers["ETag"] == f'"{created["version"]}"'
        assert first.headers["Location"] == f"/v1/tickets/{created['number']}"

        # the same body, keys in another order: the stored answer, marked as a replay
        reordered = dict(reversed(list(NEW_TICKET.items())))
        again = client.post("/v1/tickets", json=reordered, headers=headers)
        assert again.status_code == 201
        assert again.json() == created
        assert again.headers["Idempotent-Replayed"] == "true"
        assert "Idempotent-Replayed" not in first.headers

        # the same key with another body: refused, naming the header
        other = client.post("/v1/tickets", json={**NEW_TICKET, "subject": "Something else"}, headers=headers)
        assert other.status_code == 422
        assert other.json()["error"]["field"] == "Idempotency-Key"
        assert other.json()["error"]["code"] == "idempotency_key_reused"

        shown = client.get(f"/v1/tickets/{created['number']}")
        assert shown.headers["ETag"] == first.headers["ETag"]
        # the first message is the token's agent's internal note, never the customer's words
        (message,) = shown.json()["messages"]
        assert message["author_kind"] == "agent" and message["public"] is False
        assert message["author_agent_id"] == deployment.team.ids["sam"]

    assert count(deployment, "SELECT count(*) FROM ticket WHERE subject = :s", s=NEW_TICKET["subject"]) == 1
    # the audit names the API and the token
    refs = count(
        deployment,
        "SELECT count(*) FROM audit_event WHERE entity_id = :t AND mutation_ref LIKE 'api:%' AND actor_id = :a",
        t=created["id"],
        a=deployment.team.ids["sam"],
    )
    assert refs >= 1


#: What a read of a ticket adds to the ticket a write answers.
READ_ONLY = ("messages", "merge_suggestion")


def test_a_create_answers_the_ticket_exactly_as_a_read_of_it_does(deployment: Deployment) -> None:
    """The answer of a create is built from the change records the write logged (not read
    again): it must be what ``GET`` answers, field for field, tags sorted, the same ``ETag``."""
    body = {**NEW_TICKET, "tags": ["zeta", "alpha", "payment"], "assignee": "sam@acme.test", "status": "open"}
    with deployment.api("sam") as client:
        created = client.post("/v1/tickets", json=body, headers=key())
        assert created.status_code == 201, created.text
        shown = client.get(f"/v1/tickets/{created.json()['number']}")
        assert shown.status_code == 200
        read = {name: value for name, value in shown.json().items() if name not in READ_ONLY}
        assert created.json() == read
        assert created.json()["tags"] == ["alpha", "payment", "zeta"]
        assert created.headers["ETag"] == shown.headers["ETag"]
        bare = client.post("/v1/tickets", json={**NEW_TICKET, "tags": []}, headers=key())
        assert bare.status_code == 201 and bare.json()["tags"] == []
        again = client.get(f"/v1/tickets/{bare.json()['number']}")
        assert bare.json() == {name: value for name, value in again.json().items() if name not in READ_ONLY}


def test_a_refused_create_leaves_nothing_and_its_key_replays_the_refusal(deployment: Deployment) -> None:
    """The write is rolled back whole (the requester it had already added too) and the refusal
    is kept under the key: a retry gets it again without running anything."""
    body = {**NEW_TICKET, "requester": {"email": "ghost@example.com"}, "status": "closed"}  # after the requester
    headers = key()
    with deployment.api("ada") as client:
        refused = client.post("/v1/tickets", json=body, headers=headers)
        assert refused.status_code == 409 and refused.json()["error"]["field"] == "status", refused.text
        assert "Idempotent-Replayed" not in refused.headers
        again = client.post("/v1/tickets", json=body, headers=headers)
        assert again.status_code == refused.status_code and again.json() == refused.json()
        assert again.headers["Idempotent-Replayed"] == "true"
    assert count(deployment, "SELECT count(*) FROM identity WHERE value = 'ghost@example.com'") == 0
    assert count(deployment, "SELECT count(*) FROM ticket WHERE subject = :s", s=NEW_TICKET["subject"]) == 0


def test_simultaneous_retries_of_one_create_make_one_ticket(deployment: Deployment) -> None:
    headers = {**key(), "Authorization": f"Bearer {deployment.team.tokens['sam']}"}
    body = {**NEW_TICKET, "subject": "Retried from a flaky network"}
    answers = post_at_once(deployment.server, "/v1/tickets", body, headers, 6)
    assert {response.status_code for response in answers} == {201}, [r.text for r in answers]
    assert len({response.json()["id"] for response in answers}) == 1
    assert sum(response.headers.get("Idempotent-Replayed") == "true" for response in answers) == 5
    assert count(deployment, "SELECT count(*) FROM ticket WHERE subject = :s", s=body["subject"]) == 1


def test_replies_notes_and_patch_with_if_match(deployment: Deployment) -> None:
    number = customer_ticket(deployment, deployment.team.tier1)
    with deployment.api("sam") as client:
        etag = client.get(f"/v1/tickets/{number}").headers["ETag"]

        reply = client.post(f"/v1/tickets/{number}/replies", json={"body": "We are on it."}, headers=key())
        assert reply.status_code == 201, reply.text
        assert reply.json()["message"]["public"] is True
        assert reply.json()["ticket"]["status"] == "open"
        note = client.post(f"/v1/tickets/{number}/notes", json={"body": "Called the courier."}, headers=key())
        assert note.status_code == 201 and note.json()["message"]["public"] is False

        # the reply moved the ticket on: the old ETag is refused, naming what changed
        stale = client.patch(f"/v1/tickets/{number}", json={"priority": "urgent"}, headers={"If-Match": etag})
        assert stale.status_code == 412
        error = stale.json()["error"]
        assert error["field"] == "If-Match" and "status" in error["changed"] and "messages" in error["changed"]
        assert client.get(f"/v1/tickets/{number}").json()["priority"] == "normal"

        current = client.get(f"/v1/tickets/{number}").headers["ETag"]
        patch = {"priority": "urgent", "tags_add": ["vip", "courier"], "assignee": "sam@acme.test", "status": "pending"}
        changed = client.patch(f"/v1/tickets/{number}", json=patch, headers={"If-Match": current, **key()})
        assert changed.status_code == 200, changed.text
        view = changed.json()
        assert view["priority"] == "urgent" and view["status"] == "pending"
        assert view["assignee_id"] == deployment.team.ids["sam"] and view["tags"] == ["courier", "vip"]
        assert changed.headers["ETag"] != current

        removed = client.patch(f"/v1/tickets/{number}", json={"tags_remove": ["vip"], "assignee": None})
        assert removed.status_code == 200 and removed.json()["tags"] == ["courier"]
        assert removed.json()["assignee_id"] is None

        # all or nothing: a bad step refuses the whole change
        bad = client.patch(f"/v1/tickets/{number}", json={"priority": "low", "assignee": "nobody@acme.test"})
        assert bad.status_code == 422 and bad.json()["error"]["field"] == "assignee"
        assert client.get(f"/v1/tickets/{number}").json()["priority"] == "urgent"


def test_hostile_writes_are_refused_with_one_clear_error(sqlite_deployment: Deployment) -> None:
    deployment = sqlite_deployment
    billing = customer_ticket(deployment, deployment.team.billing)
    tier1 = customer_ticket(deployment, deployment.team.tier1)
    with deployment.api("sam") as client:
        # another group's ticket: the same 404 as a ticket that does not exist
        for path, body in (("replies", {"body": "hi"}), ("notes", {"body": "hi"})):
            refused = client.post(f"/v1/tickets/{billing}/{path}", json=body, headers=key())
            assert refused.status_code == 404, refused.text
            assert refused.json()["error"] == {
                "code": "not_found",
                "message": f"no ticket #{billing}",
                "field": "number",
            }
        assert client.patch(f"/v1/tickets/{billing}", json={"status": "solved"}).status_code == 404
        assert client.get(f"/v1/tickets/{billing}").status_code == 404

        # forged authorship or channel metadata: not fields of this API
        for forged in ({"author": "customer"}, {"direction": "inbound"}, {"meta": {"dmarc": "pass"}}):
            refused = client.post("/v1/tickets", json={**NEW_TICKET, **forged})
            assert refused.status_code == 422
            assert refused.json()["error"]["field"] == next(iter(forged))
        refused = client.post(f"/v1/tickets/{tier1}/replies", json={"body": "x", "author_customer_id": "c1"})
        assert refused.status_code == 422 and refused.json()["error"]["field"] == "author_customer_id"

        # malformed and oversized bodies, NUL bytes, escape sequences
        malformed = client.post(
            "/v1/tickets", content=b'{"subject": "x",', headers={"Content-Type": "application/json"}
        )
        assert malformed.status_code == 400 and malformed.json()["error"]["code"] == "malformed_json"
        status, answer = declared_too_large(deployment, f"/v1/tickets/{tier1}/notes", 9 * 1024 * 1024)
        assert status == 413 and b'"too_large"' in answer
        long = client.post(f"/v1/tickets/{tier1}/notes", json={"body": "x" * 300_000})
        assert long.status_code == 422 and long.json()["error"]["field"] == "body"
        nul = client.post(f"/v1/tickets/{tier1}/notes", json={"body": "a\x00b"})
        assert nul.status_code == 422 and nul.json()["error"]["field"] == "body"
        escaped = client.post(f"/v1/tickets/{tier1}/notes", json={"body": "ok \x1b]8;;http://evil\x07 done"})
        assert escaped.status_code == 201 and "\x1b" not in escaped.json()["message"]["body"]
        neither = client.post("/v1/tickets", json={**NEW_TICKET, "requester": {"name": "No Address"}})
        assert neither.status_code == 422 and neither.json()["error"]["field"].startswith("requester")

        # a bad If-Match or Idempotency-Key header
        bad_match = client.patch(f"/v1/tickets/{tier1}", json={"priority": "low"}, headers={"If-Match": "abc"})
        assert bad_match.status_code == 400 and bad_match.json()["error"]["field"] == "If-Match"
        bad_key = client.post(f"/v1/tickets/{tier1}/notes", json={"body": "x"}, headers={"Idempotency-Key": "a b"})
        assert bad_key.status_code == 400 and bad_key.json()["error"]["field"] == "Idempotency-Key"
        nothing = client.patch(f"/v1/tickets/{tier1}", json={})
        assert nothing.status_code == 200 and nothing.json()["number"] == tier1

        # a key is the agent's: refusal before the write stores nothing, so the key is free again
        headers = key()
        assert client.post(f"/v1/tickets/{tier1}/notes", json={"body": "\x00"}, headers=headers).status_code == 422
        assert client.post(f"/v1/tickets/{tier1}/notes", json={"body": "fine"}, headers=headers).status_code == 201

        # a method a path does not take: 405 with every method it does take
        for path, allowed in ((f"/v1/tickets/{tier1}", "GET, HEAD, PATCH"), ("/v1/tickets", "GET, HEAD, POST")):
            wrong = client.put(path, json={})
            assert wrong.status_code == 405 and wrong.headers["Allow"] == allowed
            assert wrong.json()["error"]["code"] == "method_not_allowed"

    with deployment.api("tom") as other_agent:
        # the same key from another agent is another key
        again = other_agent.post(f"/v1/tickets/{tier1}/notes", json={"body": "fine"}, headers=headers)
        assert again.status_code == 201 and "Idempotent-Replayed" not in again.headers

    with deployment.api("lee") as light:
        # a light agent's token writes internal notes only, as in the console
        assert light.post(f"/v1/tickets/{tier1}/notes", json={"body": "seen"}).status_code == 201
        reply = light.post(f"/v1/tickets/{tier1}/replies", json={"body": "hello"})
        assert reply.status_code == 403 and reply.json()["error"]["code"] == "forbidden"
        assert light.post("/v1/tickets", json=NEW_TICKET).status_code == 403


def test_erasing_a_customer_reaches_the_answers_kept_under_keys(sqlite_deployment: Deployment) -> None:
    deployment = sqlite_deployment
    headers = key()
    body = {**NEW_TICKET, "subject": "Zebediah's refund", "requester": {"email": "zebediah@example.com"}}
    with deployment.api("sam") as client:
        created = client.post("/v1/tickets", json=body, headers=headers)
        assert created.status_code == 201
        noted = client.post(f"/v1/tickets/{created.json()['number']}/notes", json={"body": "Zebediah called"})
        assert noted.status_code == 201
    apply_as(deployment.team.db, SYSTEM, "customer.erase", {"customer_id": created.json()["requester_id"]})
    assert count(deployment, "SELECT count(*) FROM api_idempotency WHERE lower(response) LIKE '%zebediah%'") == 0
    with deployment.api("sam") as client:
        replayed = client.post("/v1/tickets", json=body, headers=headers)
    assert replayed.status_code == 201 and replayed.json() == {"erased": True}
    assert (
        count(deployment, "SELECT count(*) FROM ticket WHERE requester_id = :c", c=created.json()["requester_id"]) == 1
    )
