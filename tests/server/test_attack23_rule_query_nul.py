"""Attack on free text and field values reaching PostgreSQL from a rule's query (attack23).

A search with a NUL is refused at the HTTP edge (422 naming ``query``), but a rule's ``query``
condition was saved with one (its JSON holds ``\\u0000`` as an escape), and every later write
the rule was checked on sent the value to PostgreSQL as a bound parameter, which refused it:
after an admin saved ``refund tag:x\\0y`` no ticket could be created (422 on each create). On
SQLite the same rule saved and ran. The rule must be refused when saved, on both databases,
and the writes after it go on.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from supportdesk.protocol import SCHEMA_VERSION
from tests.live import Deployment

pytestmark = [pytest.mark.integration]


def _push(client: httpx.Client, mutation_id: int, name: str, args: dict[str, Any]) -> dict[str, Any]:
    body = {
        "client_id": "attack23-rule-nul",
        "schema_version": SCHEMA_VERSION,
        "mutations": [{"id": mutation_id, "name": name, "args": args}],
    }
    answer = client.post("/v1/push", json=body)
    assert answer.status_code == 200, answer.text
    (result,) = answer.json()["results"]
    return dict(result)


@pytest.mark.parametrize("query", ["refund tag:x\x00y", "refund -requester:a\x00b"])
def test_a_rule_query_holding_a_nul_is_refused_and_creates_go_on(deployment: Deployment, query: str) -> None:
    with deployment.api("ada") as ada:
        rule = {"name": "Nul", "when": ["created"], "conditions": {"query": [query]}, "actions": [{"add_tags": ["x"]}]}
        refused = _push(ada, 1, "rule.create", {"definition": rule})
        assert not refused["ok"], refused
        assert "NUL" in refused["error"]["message"], refused
        clean = {**rule, "name": "Clean", "conditions": {"query": ["refund"]}, "actions": [{"add_tags": ["clean"]}]}
        assert _push(ada, 2, "rule.create", {"definition": clean})["ok"]
        created = ada.post(
            "/v1/tickets",
            json={"subject": "refund", "body": "refund", "requester": {"email": f"{uuid.uuid4().hex[:8]}@example.com"}},
        )
        assert created.status_code == 201, created.text
        assert created.json()["tags"] == ["clean"]
        args = {"subject": "refund too", "body": "refund", "requester": {"value": "p@example.com", "name": "P"}}
        assert _push(ada, 3, "ticket.create", args)["ok"]


def test_a_rule_stored_with_a_nul_before_the_check_is_inert_and_creates_go_on(deployment: Deployment) -> None:
    """A rule saved before ``check_query`` refused a NUL kept it: every write the rule was
    checked on failed on PostgreSQL. Such a rule now matches no ticket; the writes go on."""
    from sqlalchemy import column, select, update
    from sqlalchemy import table as sa_table
    from sqlalchemy.types import JSON

    with deployment.api("ada") as ada:
        rule = {
            "name": "Old",
            "when": ["created"],
            "conditions": {"query": ["refund"]},
            "actions": [{"add_tags": ["old"]}],
        }
        assert _push(ada, 1, "rule.create", {"definition": rule})["ok"]
        rules = sa_table("trigger_rule", column("name"), column("conditions", JSON()))
        database = deployment.team.db
        with database.engine.begin() as connection:
            conditions = connection.execute(select(rules.c.conditions).where(rules.c.name == "Old")).scalar_one()
            assert conditions["all"]["query"] == ["refund"], conditions
            conditions["all"]["query"] = ["refund tag:x\x00y"]
            connection.execute(update(rules).where(rules.c.name == "Old").values(conditions=conditions))
        created = ada.post(
            "/v1/tickets",
            json={"subject": "refund", "body": "refund", "requester": {"email": f"{uuid.uuid4().hex[:8]}@example.com"}},
        )
        assert created.status_code == 201, created.text
        assert created.json()["tags"] == []
        args = {"subject": "refund again", "body": "refund", "requester": {"value": "q@example.com", "name": "Q"}}
        assert _push(ada, 2, "ticket.create", args)["ok"]
