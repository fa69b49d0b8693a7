"""REST for integrations beyond ticket writes, against a real server: ticket merges, customers (find
by address, read with their visible tickets, change, merge), articles and macros (list, read,
create, change, apply to a ticket) — the console's mutations with the console's rules, scopes,
group restrictions, audit and idempotency keys, and the hostile cases an integration can send."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import text

from supportdesk import protocol
from supportdesk.domain.context import SYSTEM
from supportdesk.server import admin
from supportdesk.server.apply import apply_as
from tests.live import Deployment, api


def key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


def opened(deployment: Deployment, group_id: str | None, address: str = "carol@example.com") -> int:
    """A ticket a customer opened through a channel."""
    args = {"subject": "Printer on fire", "body": "It smokes.", "requester": {"value": address}}
    result, _ = apply_as(deployment.team.db, SYSTEM, "ticket.create", {**args, "group_id": group_id})
    return int(result["number"])


def scoped(deployment: Deployment, who: str, name: str, scopes: str, groups: list[str] | None = None) -> httpx.Client:
    _, secret = admin.new_token(deployment.team.db, f"{who}@acme.test", name, scopes=scopes.split(","), groups=groups)
    return api(deployment.server, secret)


def scalar(deployment: Deployment, sql: str, **params: Any) -> Any:
    with deployment.team.db.engine.connect() as connection:
        return connection.execute(text(sql), params).scalar()


def test_merging_tickets_over_rest_asks_before_joining_two_requesters(deployment: Deployment) -> None:
    """On SQLite and PostgreSQL (where a merge locks both tickets, in one order)."""
    first = opened(deployment, deployment.team.tier1)
    same = opened(deployment, deployment.team.tier1)
    other = opened(deployment, deployment.team.tier1, "dave@example.com")
    billing = opened(deployment, deployment.team.billing)
    with scoped(deployment, "sam", "shop", "tickets:write") as client:
        merged = client.post(f"/v1/tickets/{same}/merge", json={"into": first, "comment": "Twice."}, headers=key())
        assert merged.status_code == 200, merged.text
        assert merged.json()["number"] == first
        source = client.get(f"/v1/tickets/{same}").json()
        assert source["status"] == "closed" and source["merged_into_id"] == merged.json()["id"]

        # different requesters: a 422 naming the confirmation, then through with it
        refused = client.post(f"/v1/tickets/{other}/merge", json={"into": first}, headers=key())
        assert refused.status_code == 422
        assert refused.json()["error"]["field"] == "different_requesters"
        confirmed = client.post(
            f"/v1/tickets/{other}/merge", json={"into": first, "different_requesters": True}, headers=key()
        )
        assert confirmed.status_code == 200, confirmed.text

        # another group's ticket is a 404 either way round, the same as one that does not exist
        for body, path in (
            ({"into": billing}, f"/v1/tickets/{first}/merge"),
            ({"into": first}, f"/v1/tickets/{billing}/merge"),
        ):
            hidden = client.post(path, json=body, headers=key())
            assert hidden.status_code == 404, hidden.text
        assert client.post(f"/v1/tickets/{first}/merge", json={"into": first}).status_code == 422
    ref = scalar(
        deployment,
        "SELECT source || ' ' || mutation_ref FROM audit_event WHERE mutation = 'ticket.merge' LIMIT 1",
    )
    assert str(ref).startswith("api api:") and str(ref).endswith(":shop")


def test_a_crm_finds_a_customer_by_address_and_sees_only_its_groups_tickets(sqlite_deployment: Deployment) -> None:
    deployment = sqlite_deployment
    tier1 = opened(deployment, deployment.team.tier1, "Alice@Example.com")
    billing = opened(deployment, deployment.team.billing, "alice@example.com")
    with scoped(deployment, "sam", "crm", "customers:read") as crm:
        found = crm.get("/v1/customers", params={"email": "ALICE@example.com"})
        assert found.status_code == 200, found.text
        (customer,) = found.json()["customers"]
        assert customer["identities"][0]["value"] == "alice@example.com"
        shown = crm.get(f"/v1/customers/{customer['id']}").json()
        assert [t["number"] for t in shown["tickets"]] == [tier1]  # not billing's
        assert billing not in [t["number"] for t in shown["tickets"]]
        assert crm.get("/v1/customers", params={"email": "nobody@example.com"}).json()["customers"] == []
        assert crm.get("/v1/customers/no-such-customer").status_code == 404
        # read-only: no change, no ticket read
        assert crm.patch(f"/v1/customers/{customer['id']}", json={"name": "X"}).status_code == 403
        assert crm.get(f"/v1/tickets/{tier1}").status_code == 403
    with deployment.api("ada") as admin_client:
        everything = admin_client.get(f"/v1/customers/{customer['id']}").json()
        assert sorted(t["number"] for t in everything["tickets"]) == sorted([tier1, billing])
        page = admin_client.get("/v1/customers", params={"limit": 1}).json()
        assert len(page["customers"]) == 1


def test_changing_and_merging_customers_keeps_the_consoles_rules(sqlite_deployment: Deployment) -> None:
    deployment = sqlite_deployment
    opened(deployment, deployment.team.tier1, "alice@example.com")
    opened(deployment, deployment.team.billing, "alice.doe@example.com")
    opened(deployment, deployment.team.tier1, "ally@example.com")
    with deployment.api("ada") as client:
        ids = {
            address: client.get("/v1/customers", params={"email": address}).json()["customers"][0]["id"]
            for address in ("alice@example.com", "alice.doe@example.com", "ally@example.com")
        }
    with scoped(deployment, "sam", "crm", "customers:write") as crm:
        headers = key()
        hostile = "<script>alert(1)</script>\x1b[31m[b]red[/b]"
        changed = crm.patch(f"/v1/customers/{ids['alice@example.com']}", json={"name": hostile}, headers=headers)
        assert changed.status_code == 200, changed.text
        assert "\x1b" not in changed.json()["name"] and "<script>" in changed.json()["name"]  # kept as text
        # the same key with another body: a 422, and nothing changed
        forged = crm.patch(f"/v1/customers/{ids['alice@example.com']}", json={"name": "Mallory"}, headers=headers)
        assert forged.status_code == 422 and forged.json()["error"]["code"] == "idempotency_key_reused"
        assert "Mallory" not in str(
            scalar(deployment, "SELECT name FROM customer WHERE id = :c", c=ids["alice@example.com"])
        )
        # an agent may not merge a customer with tickets in a group they are not in
        refused = crm.post(
            f"/v1/customers/{ids['alice.doe@example.com']}/merge",
            json={"into": ids["alice@example.com"]},
            headers=key(),
        )
        assert refused.status_code == 403, refused.text
        merged = crm.post(
            f"/v1/customers/{ids['ally@example.com']}/merge", json={"into": ids["alice@example.com"]}, headers=key()
        )
        assert merged.status_code == 200, merged.text
        assert {i["value"] for i in merged.json()["identities"]} == {"alice@example.com", "ally@example.com"}
        assert crm.patch("/v1/customers/nope", json={"name": "x"}).status_code == 404
        assert crm.patch(f"/v1/customers/{ids['ally@example.com']}", json={"email": "x@y.z"}).status_code == 422
    with deployment.api("ada") as client:
        merged = client.post(
            f"/v1/customers/{ids['alice.doe@example.com']}/merge",
            json={"into": ids["alice@example.com"]},
            headers=key(),
        )
        assert merged.status_code == 200, merged.text


def test_articles_and_macros_are_written_with_kb_write_and_macros_apply_with_the_agents_rules(
    sqlite_deployment: Deployment,
) -> None:
    deployment = sqlite_deployment
    number = opened(deployment, deployment.team.tier1)
    billing = opened(deployment, deployment.team.billing)
    with scoped(deployment, "sam", "docs bot", "kb:write") as docs:
        article = docs.post(
            "/v1/articles", json={"title": "Resetting a password", "body": "Open Settings."}, headers=key()
        )
        assert article.status_code == 201, article.text
        article_id = article.json()["id"]
        assert article.headers["Location"] == f"/v1/articles/{article_id}"
        changed = docs.patch(f"/v1/articles/{article_id}", json={"public": True, "tags": ["Account"]}, headers=key())
        assert changed.status_code == 200 and changed.json()["public"] is True and changed.json()["tags"] == ["account"]
        assert docs.get(f"/v1/articles/{article_id}").json()["title"] == "Resetting a password"
        assert [a["id"] for a in docs.get("/v1/articles").json()["articles"]] == [article_id]
        assert docs.post("/v1/articles", json={"title": "Resetting a password", "body": "Again"}).status_code == 409

        macro = docs.post(
            "/v1/macros",
            json={
                "name": "Refund issued",
                "body": "Hi {{ ticket.requester.name }}, we refunded your order.",
                "actions": [{"field": "priority", "value": "low"}, {"field": "add_tags", "value": ["refund"]}],
            },
            headers=key(),
        )
        assert macro.status_code == 201, macro.text
        macro_id = macro.json()["id"]
        assert docs.post("/v1/macros", json={"name": "Broken", "body": "{{ unclosed"}).status_code == 422
        assert docs.patch(f"/v1/macros/{macro_id}", json={"description": "after a refund"}).status_code == 200
        assert docs.get("/v1/macros").json()["macros"][0]["id"] == macro_id
        # kb:write does not write tickets
        assert docs.post(f"/v1/tickets/{number}/macros/{macro_id}").status_code == 403
        note = docs.post("/v1/macros", json={"name": "Internal check", "body": "Checked.", "public": False}).json()

    with deployment.api("lee") as light:
        assert light.get(f"/v1/macros/{macro_id}").status_code == 200
        assert light.post("/v1/articles", json={"title": "Mine", "body": "x"}).status_code == 403
        assert light.post(f"/v1/tickets/{number}/macros/{macro_id}", headers=key()).status_code == 403
        internal = light.post(f"/v1/tickets/{number}/macros/{note['id']}", headers=key())
        assert internal.status_code == 200, internal.text
        assert internal.json()["message"]["public"] is False

    with deployment.api("sam") as client:
        headers = key()
        applied = client.post(f"/v1/tickets/{number}/macros/{macro_id}", headers=headers)
        assert applied.status_code == 200, applied.text
        body = applied.json()
        assert body["ticket"]["priority"] == "low" and "refund" in body["ticket"]["tags"]
        assert body["message"]["body"].startswith("Hi ") and body["message"]["public"] is True
        again = client.post(f"/v1/tickets/{number}/macros/{macro_id}", headers=headers)
        assert again.headers.get("Idempotent-Replayed") == "true" and again.json() == body
        messages = scalar(deployment, "SELECT count(*) FROM message WHERE meta LIKE :m", m=f"%{macro_id}%")
        assert messages == 1
        assert client.post(f"/v1/tickets/{billing}/macros/{macro_id}", headers=key()).status_code == 404
        assert client.post(f"/v1/tickets/{number}/macros/no-such-macro", headers=key()).status_code == 404
        assert client.get("/v1/articles/no-such-article").status_code == 404


def test_oversized_and_malformed_kb_bodies_are_refused_with_one_clear_error(sqlite_deployment: Deployment) -> None:
    deployment = sqlite_deployment
    with deployment.api("ada") as client:
        huge = client.post("/v1/articles", json={"title": "Big", "body": "x" * (protocol.MAX_BODY_BYTES + 10)})
        assert huge.status_code == 413, huge.text
        assert huge.json()["error"]["code"]
        long_body = client.post("/v1/articles", json={"title": "Long", "body": "x" * 200_001})
        assert long_body.status_code == 422 and long_body.json()["error"]["field"] == "body"
        long_title = client.post("/v1/articles", json={"title": "t" * 400, "body": "x"})
        assert long_title.status_code == 422 and long_title.json()["error"]["field"]
        nul = client.post("/v1/macros", json={"name": "a\x00b"})
        assert nul.status_code == 422
        unknown = client.post("/v1/macros", json={"name": "ok", "actions": [{"field": "delete_ticket"}]})
        assert unknown.status_code == 422
        restricted = scoped(deployment, "sam", "tier1 only", "tickets:write,kb:read", groups=["Billing"])
    with restricted:
        number = opened(deployment, deployment.team.tier1)
        assert restricted.post(f"/v1/tickets/{number}/merge", json={"into": number + 100}).status_code == 404


def test_admins_are_told_of_a_disabled_webhook_endpoint_and_agents_are_not(sqlite_deployment: Deployment) -> None:
    from supportdesk.server.webhooks import add_endpoint, enable_endpoint

    deployment = sqlite_deployment
    with deployment.team.db.engine.connect() as connection, connection.begin():
        endpoint_id, _ = add_endpoint(connection, "http://127.0.0.1:9/<b>hook</b>", ["ticket.created"])
        # what the sender writes after a day of failures (driven for real in test_rest_webhooks.py)
        connection.execute(
            text(
                "UPDATE webhook_endpoint SET active = :f, disabled_at = created_at, "
                "disabled_reason = 'every delivery failed for 24 hours' WHERE id = :e"
            ),
            {"f": False, "e": endpoint_id},
        )
    with deployment.api("ada") as client:
        (notice,) = client.get("/v1/me").json()["notices"]
        assert notice["endpoint_id"] == endpoint_id and "webhook enable" in notice["message"]
    for who in ("sam", "lee"):
        with deployment.api(who) as client:
            assert client.get("/v1/me").json()["notices"] == []
    with scoped(deployment, "ada", "restricted", "tickets:read", groups=["Tier 1"]) as restricted:
        assert restricted.get("/v1/me").json()["notices"] == []  # acts as an agent of its groups
    with deployment.team.db.engine.connect() as connection, connection.begin():
        enable_endpoint(connection, endpoint_id)
    with deployment.api("ada") as client:
        assert client.get("/v1/me").json()["notices"] == []


def test_every_openapi_link_names_an_operation_and_a_parameter_it_has(tmp_path: Any) -> None:
    """Schemathesis's stateful phase follows these links; a renamed endpoint must not leave one
    pointing nowhere (it would silently test less)."""
    from supportdesk.server.app import create_app
    from supportdesk.server.db import open_database

    database = open_database(f"sqlite:///{tmp_path / 'server.db'}")
    spec = create_app(database).openapi()
    operations = {
        op["operationId"]: {p["name"] for p in op.get("parameters", [])}
        for path in spec["paths"].values()
        for op in path.values()
        if isinstance(op, dict) and "operationId" in op
    }
    links = [
        link
        for path in spec["paths"].values()
        for op in path.values()
        if isinstance(op, dict)
        for answer in op.get("responses", {}).values()
        for link in answer.get("links", {}).values()
    ]
    assert len(links) >= 20
    for link in links:
        assert link["operationId"] in operations, link
        assert set(link["parameters"]) <= operations[link["operationId"]], link
    database.dispose()
