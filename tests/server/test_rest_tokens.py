"""Tokens for machines against a real server: scopes, a group restriction, a rate of their own with
``RateLimit-*`` headers, and their name in the audit."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import text

from supportdesk.domain.context import SYSTEM
from supportdesk.protocol import SCHEMA_VERSION
from supportdesk.server import admin
from supportdesk.server.apply import apply_as
from supportdesk.server.scopes import ScopeError
from tests.cli.helpers import supportdesk
from tests.live import Deployment, api, make_team

NEW_TICKET: dict[str, Any] = {
    "subject": "Order 77 not delivered",
    "body": "Courier lost it.",
    "requester": {"email": "dan@example.com"},
}


def customer_ticket(deployment: Deployment, group_id: str | None) -> int:
    args = {"subject": "Printer on fire", "body": "It smokes.", "requester": {"value": "carol@example.com"}}
    result, _ = apply_as(deployment.team.db, SYSTEM, "ticket.create", {**args, "group_id": group_id})
    return int(result["number"])


def token(deployment: Deployment, who: str, name: str, **limits: Any) -> httpx.Client:
    _, secret = admin.new_token(deployment.team.db, f"{who}@acme.test", name, **limits)
    return api(deployment.server, secret)


def test_scopes_decide_what_a_token_may_do_and_it_never_syncs(sqlite_deployment: Deployment) -> None:
    deployment = sqlite_deployment
    number = customer_ticket(deployment, deployment.team.tier1)
    with token(deployment, "sam", "status page", scopes=["tickets:read"]) as reader:
        assert reader.get("/v1/tickets").status_code == 200
        assert reader.get(f"/v1/tickets/{number}").status_code == 200
        me = reader.get("/v1/me").json()
        assert me["scopes"] == ["tickets:read"]
        refused = reader.post(f"/v1/tickets/{number}/notes", json={"body": "hi"})
        assert refused.status_code == 403
        assert refused.json()["error"] == {
            "code": "insufficient_scope",
            "message": "this token's scopes do not include tickets:write",
            "field": "scope",
        }
        # sync sees and writes everything of its agent: not for a scoped token
        assert reader.get("/v1/pull").status_code == 403
        push = {"client_id": "c1", "schema_version": SCHEMA_VERSION, "mutations": []}
        assert reader.post("/v1/push", json=push).status_code == 403
        assert reader.get("/v1/admin/clients").status_code == 403

    with token(deployment, "sam", "shop", scopes=["tickets:write"]) as writer:
        assert writer.get(f"/v1/tickets/{number}").status_code == 200  # write includes read
        created = writer.post("/v1/tickets", json=NEW_TICKET)
        assert created.status_code == 201, created.text

    with deployment.team.db.engine.connect() as connection:
        refs = connection.execute(
            text("SELECT DISTINCT mutation_ref FROM audit_event WHERE entity_id = :t"), {"t": created.json()["id"]}
        ).scalars()
        assert all(ref.startswith("api:") and ref.endswith(":shop") for ref in refs)

    # an agent's token cannot carry admin; a restricted token cannot either
    with pytest.raises(ScopeError, match="only an admin"):
        admin.new_token(deployment.team.db, "sam@acme.test", scopes=["admin"])
    with pytest.raises(ScopeError, match="restricted to groups"):
        admin.new_token(deployment.team.db, "ada@acme.test", scopes=["admin"], groups=["Billing"])
    with token(deployment, "ada", "ops", scopes=["admin"]) as ops:
        assert ops.get("/v1/admin/clients").status_code == 200


def test_a_group_restricted_token_sees_and_writes_only_its_groups(sqlite_deployment: Deployment) -> None:
    deployment = sqlite_deployment
    tier1 = customer_ticket(deployment, deployment.team.tier1)
    billing = customer_ticket(deployment, deployment.team.billing)
    # even an admin's token, restricted, acts as an agent of those groups
    with token(deployment, "ada", "billing bot", scopes=["tickets:write"], groups=["Billing"]) as bot:
        numbers = {ticket["number"] for ticket in bot.get("/v1/tickets").json()["tickets"]}
        assert billing in numbers and tier1 not in numbers
        assert bot.get(f"/v1/tickets/{tier1}").status_code == 404
        assert bot.post(f"/v1/tickets/{tier1}/notes", json={"body": "x"}).status_code == 404
        assert bot.post(f"/v1/tickets/{billing}/notes", json={"body": "x"}).status_code == 201
        moved = bot.patch(f"/v1/tickets/{billing}", json={"group": "Tier 1"})
        assert moved.status_code == 403 and moved.json()["error"]["field"] == "group"
        assert bot.post("/v1/tickets", json={**NEW_TICKET, "group": "Tier 1"}).status_code == 403
        assert bot.post("/v1/tickets", json=NEW_TICKET).status_code == 403  # must name its group
        assert bot.post("/v1/tickets", json={**NEW_TICKET, "group": "Billing"}).status_code == 201


def test_a_token_with_a_rate_of_its_own_says_where_it_stands(sqlite_deployment: Deployment) -> None:
    deployment = sqlite_deployment
    with token(deployment, "sam", "crm", scopes=["tickets:read"], rate_per_minute=3) as crm:
        remaining = []
        for _ in range(3):
            answer = crm.get("/v1/tickets")
            assert answer.status_code == 200
            assert answer.headers["RateLimit-Limit"] == "3"
            remaining.append(int(answer.headers["RateLimit-Remaining"]))
        assert remaining == [2, 1, 0]
        refused = crm.get("/v1/tickets")
        assert refused.status_code == 429
        assert int(refused.headers["Retry-After"]) >= 1
        assert refused.headers["RateLimit-Remaining"] == "0" and int(refused.headers["RateLimit-Reset"]) >= 1
    with deployment.api("sam") as unlimited:  # the server's own limit is off in tests: no headers
        assert "RateLimit-Limit" not in unlimited.get("/v1/tickets").headers


def test_token_create_takes_scopes_groups_and_a_rate_and_refuses_bad_ones(tmp_path: Any) -> None:
    db = str(tmp_path / "server.db")
    make_team(db).db.dispose()
    made = supportdesk(
        "server", "token", "create", "sam@acme.test", "--name", "shop", "--scope", "tickets:write,customers:read",
        "--group", "Tier 1", "--rate", "120", "--db", db,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip().startswith("sdt_")
    listed = supportdesk("server", "token", "list", "--db", db)
    assert "customers:read" in listed.stdout and "120" in listed.stdout
    for args, message in (
        (["--scope", "tickets:delete"], "unknown scope 'tickets:delete'"),
        (["--scope", "admin"], "only an admin's token can have the admin scope"),
        (["--group", "Tier 1"], "a token restricted to groups needs scopes"),
        (["--scope", "tickets:read", "--group", "Nowhere"], "no group Nowhere"),
    ):
        refused = supportdesk("server", "token", "create", "sam@acme.test", *args, "--db", db)
        assert refused.returncode in (2, 3), refused.stderr
        assert message in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
