"""The server's HTTP API against a real uvicorn process, on SQLite and on PostgreSQL."""

from __future__ import annotations

import time
from typing import Any

import httpx

from supportdesk.protocol import MAX_BATCH, SCHEMA_VERSION
from tests.live import Deployment, LiveServer


def push(client: httpx.Client, client_id: str, mutations: list[dict[str, Any]]) -> httpx.Response:
    body = {"client_id": client_id, "schema_version": SCHEMA_VERSION, "mutations": mutations}
    return client.post("/v1/push", json=body)


def create_ticket(client: httpx.Client, client_id: str, mutation_id: int, **extra: Any) -> dict[str, Any]:
    args = {"subject": "Printer on fire", "body": "It smokes.", "requester": {"value": "alice@example.com"}}
    args.update(extra)
    response = push(client, client_id, [{"id": mutation_id, "name": "ticket.create", "args": args}])
    assert response.status_code == 200, response.text
    outcome = response.json()["results"][0]
    assert outcome["ok"], outcome
    return dict(outcome["result"])


def customer_ticket(deployment: Deployment, **extra: Any) -> dict[str, Any]:
    """A ticket a customer opened: the server writes it as its channels do, as the system (an
    agent's push can only open a ticket as the agent)."""
    from supportdesk.domain.context import SYSTEM
    from supportdesk.server.apply import apply_as

    args = {"subject": "Printer on fire", "body": "It smokes.", "requester": {"value": "alice@example.com"}}
    args.update(extra)
    return apply_as(deployment.team.db, SYSTEM, "ticket.create", args)[0]


def error_of(response: httpx.Response) -> dict[str, Any]:
    assert response.headers["content-type"].startswith("application/json")
    return dict(response.json()["error"])


def test_health_answers_and_docs_are_served(deployment: Deployment) -> None:
    with deployment.api(None) as client:
        health = client.get("/v1/health").json()
        assert health["status"] == "ok"
        assert health["database"] == deployment.backend
        assert client.get("/docs").status_code == 200
        assert "/v1/push" in client.get("/openapi.json").json()["paths"]


def test_requests_without_a_valid_token_are_refused(deployment: Deployment) -> None:
    with deployment.api(None) as anonymous:
        response = anonymous.get("/v1/pull")
        assert response.status_code == 401
        assert "Bearer" in error_of(response)["message"]
    with httpx.Client(base_url=deployment.server.url, headers={"Authorization": "Bearer sdt_nope"}) as wrong:
        assert wrong.get("/v1/me").status_code == 401
    with deployment.api("sam") as client:
        assert client.get("/v1/me").json()["email"] == "sam@acme.test"
        from supportdesk.server.admin import revoke_tokens

        revoke_tokens(deployment.team.db, agent_ref="sam@acme.test")
        # SQLite: the very next request (token_version). PostgreSQL: the server caches checks
        # (serve's default) and forgets them when the revocation's NOTIFY arrives, milliseconds
        # after its commit in this other process
        deadline = time.monotonic() + (0 if deployment.backend == "sqlite" else 10)
        response = client.get("/v1/me")
        while response.status_code == 200 and time.monotonic() < deadline:
            time.sleep(0.01)
            response = client.get("/v1/me")
        assert response.status_code == 401
        assert "revoked" in error_of(response)["message"]


def test_push_applies_once_and_replays_return_the_stored_result(deployment: Deployment) -> None:
    with deployment.api("sam") as client:
        mutation = {
            "id": 1,
            "name": "ticket.create",
            "args": {"subject": "Refund", "body": "Twice charged", "requester": {"value": "bob@example.com"}},
        }
        first = push(client, "client-one", [mutation]).json()
        again = push(client, "client-one", [mutation]).json()
        assert first["results"][0]["ok"] and again["results"][0]["replayed"]
        assert again["results"][0]["result"] == first["results"][0]["result"]
        assert first["results"][0]["result"]["number"] == 1
        listed = client.get("/v1/tickets", params={"query": "refund"}).json()["tickets"]
        assert [t["number"] for t in listed] == [1]
        gap = push(client, "client-one", [{**mutation, "id": 3}])
        assert gap.status_code == 409
        assert error_of(gap)["code"] == "gap" and error_of(gap)["expected"] == 2


def test_a_refused_mutation_consumes_its_id_and_returns_its_error(deployment: Deployment) -> None:
    with deployment.api("sam") as client:
        bad = push(client, "client-two", [{"id": 1, "name": "ticket.note", "args": {"ticket_id": "nope", "body": "x"}}])
        outcome = bad.json()["results"][0]
        assert not outcome["ok"] and outcome["error"]["code"] == "not_found"
        assert outcome["error"]["field"] == "ticket_id"
        nxt = create_ticket(client, "client-two", 2)
        assert nxt["number"] == 1


def test_server_owned_fields_in_a_mutation_are_refused(deployment: Deployment) -> None:
    with deployment.api("sam") as client:
        args = {"subject": "x", "body": "y", "requester": {"value": "a@b.test"}, "number": 99}
        outcome = push(client, "client-three", [{"id": 1, "name": "ticket.create", "args": args}]).json()["results"][0]
        assert not outcome["ok"]
        assert outcome["error"]["field"] == "number"
        smuggled = client.post(
            "/v1/push", json={"client_id": "c3xxxxxx", "schema_version": 1, "mutations": [], "agent_id": "x"}
        )
        assert smuggled.status_code == 422
        assert error_of(smuggled)["field"] == "agent_id"


def test_malformed_requests_get_a_4xx_json_error_naming_the_problem(deployment: Deployment) -> None:
    with deployment.api("sam") as client:
        malformed = client.post("/v1/push", content=b'{"client_id": ', headers={"content-type": "application/json"})
        assert malformed.status_code == 400
        assert error_of(malformed)["code"] == "malformed_json"
        unknown = push(client, "c4aaaaaa", [{"id": 1, "name": "ticket.explode", "args": {}}])
        assert unknown.status_code == 422
        assert error_of(unknown) | {} == {
            "code": "unknown_mutation",
            "message": "unknown mutation 'ticket.explode'",
            "field": "mutations.0.name",
        }
        many = [{"id": i + 1, "name": "ticket.note", "args": {}} for i in range(MAX_BATCH + 1)]
        oversized = push(client, "c4aaaaaa", many)
        assert oversized.status_code == 413
        assert error_of(oversized)["field"] == "mutations"
        huge = client.post("/v1/push", content=b"x" * (9 * 1024 * 1024), headers={"content-type": "application/json"})
        assert huge.status_code == 413
        assert error_of(huge)["field"] == "body"
        page = client.get("/v1/pull", params={"limit": 100_000})
        assert page.status_code == 422
        assert error_of(page)["field"] == "limit"
        wrong_type = push(client, "c4aaaaaa", [{"id": "one", "name": "ticket.note", "args": {}}])
        assert wrong_type.status_code == 422
        assert error_of(wrong_type)["field"] == "mutations.0.id"
        bad_query = client.get("/v1/tickets", params={"query": "status:bogus"})
        assert bad_query.status_code == 422
        assert error_of(bad_query)["field"] == "query"
        assert client.get("/v1/nowhere").status_code == 404


def test_an_agent_of_one_group_cannot_read_pull_or_push_into_anothers_tickets(deployment: Deployment) -> None:
    team = deployment.team
    with deployment.api("bea") as billing, deployment.api("sam") as tier1:
        secret = create_ticket(billing, "bea-client", 1, group_id=team.billing, subject="Secret invoice")
        number = secret["number"]
        assert billing.get(f"/v1/tickets/{number}").status_code == 200
        hidden = tier1.get(f"/v1/tickets/{number}")
        assert hidden.status_code == 404
        assert tier1.get("/v1/tickets", params={"query": "invoice"}).json()["tickets"] == []
        pulled = tier1.get("/v1/pull", params={"cursor": 0}).json()["changes"]
        assert secret["ticket_id"] not in {c["data"].get("id") for c in pulled}
        assert all(c["data"].get("ticket_id") != secret["ticket_id"] for c in pulled)
        note = {"ticket_id": secret["ticket_id"], "body": "peeking"}
        outcome = push(tier1, "sam-client", [{"id": 1, "name": "ticket.note", "args": note}]).json()["results"][0]
        assert not outcome["ok"] and outcome["error"]["code"] == "not_found"
        rows = tier1.post("/v1/rows", json={"keys": [{"table": "ticket", "key": [secret["ticket_id"]]}]}).json()
        assert rows["rows"][0]["row"] is None
        presence = tier1.post("/v1/presence", json={"ticket_id": secret["ticket_id"], "state": "viewing"})
        assert presence.status_code == 404


def test_light_agents_write_internal_notes_only(deployment: Deployment) -> None:
    with deployment.api("sam") as sam, deployment.api("lee") as lee:
        ticket = create_ticket(sam, "sam-client", 1, group_id=deployment.team.tier1)
        note = {"id": 1, "name": "ticket.note", "args": {"ticket_id": ticket["ticket_id"], "body": "fyi"}}
        reply = {"id": 2, "name": "ticket.reply", "args": {"ticket_id": ticket["ticket_id"], "body": "hello"}}
        results = push(lee, "lee-client", [note, reply]).json()["results"]
        assert results[0]["ok"]
        assert not results[1]["ok"] and results[1]["error"]["code"] == "forbidden"


def test_admin_endpoints_are_for_admins(deployment: Deployment) -> None:
    with deployment.api("sam") as sam, deployment.api("ada") as ada:
        assert sam.get("/v1/admin/clients").status_code == 403
        create_ticket(sam, "sam-client", 1)
        clients = ada.get("/v1/admin/clients").json()["clients"]
        assert [(c["agent"], c["last_mutation_id"]) for c in clients] == [("sam@acme.test", 1)]


def test_rest_reads_use_the_query_language_on_both_engines(deployment: Deployment) -> None:
    with deployment.api("sam") as client:
        for index, subject in enumerate(["Printer on fire", "Refund please", "Printer jammed"], start=1):
            create_ticket(client, "q-client", index, subject=subject, priority="high" if index == 3 else "normal")
        found = client.get("/v1/tickets", params={"query": "printer priority:high"}).json()["tickets"]
        assert [t["subject"] for t in found] == ["Printer jammed"]
        first = client.get("/v1/tickets", params={"query": "status:new", "limit": 2}).json()
        second = client.get("/v1/tickets", params={"query": "status:new", "limit": 2, "after": first["next"]}).json()
        assert len(first["tickets"]) == 2 and len(second["tickets"]) == 1 and second["next"] is None
        shown = client.get("/v1/tickets/1").json()
        assert shown["subject"] == "Printer on fire" and shown["messages"][0]["body"] == "It smokes."


def test_the_ticket_list_carries_every_rest_field_of_the_field_table(deployment: Deployment) -> None:
    """``/v1/tickets`` returns each field the ticket field table marks for REST, a field changed
    with ``ticket.set_field`` (the language) included, and finds it by its query term."""
    from supportdesk.store import ticket_fields

    with deployment.api("sam") as client:
        created = create_ticket(client, "fields-client", 1, subject="Rechnung doppelt")
        set_language = {
            "id": 2,
            "name": "ticket.set_field",
            "args": {"ticket_id": created["ticket_id"], "field": "language", "value": "de"},
        }
        assert push(client, "fields-client", [set_language]).json()["results"][0]["ok"]
        (listed,) = client.get("/v1/tickets", params={"query": "language:de"}).json()["tickets"]
        assert set(listed) == set(ticket_fields.columns(rest=True))
        assert listed["language"] == "de" and listed["id"] == created["ticket_id"]
        assert isinstance(listed["created_at"], str)
        for plain in ticket_fields.plain_fields():
            assert plain.store_column in client.get(f"/v1/tickets/{listed['number']}").json()


def test_rate_limit_answers_429_with_retry_after(tmp_path: Any) -> None:
    from tests.live import make_team

    db = str(tmp_path / "rate.db")
    team = make_team(db)
    server = LiveServer(db, tmp_path, rate=1).start()
    server.args = server.args  # keep the flags for a restart
    try:
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {team.tokens['sam']}"}) as client:
            statuses = [client.get("/v1/me") for _ in range(450)]
            limited = [r for r in statuses if r.status_code == 429]
            assert limited, "the burst should run out"
            assert int(limited[0].headers["Retry-After"]) >= 1
            assert error_of(limited[0])["code"] == "rate_limited"
    finally:
        server.stop()
        team.db.dispose()
