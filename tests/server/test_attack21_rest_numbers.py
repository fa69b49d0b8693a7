"""attack21: numbers JSON does not have, in REST writes.

Python's JSON parser (Starlette's ``request.json()``) takes ``NaN``, ``Infinity`` and ``1e999``
(infinity); orjson then writes them as ``null`` in the request's fingerprint, so nothing refused
them. On SQLite the ticket's ``fields`` were stored as ``{"order": NaN}`` — text SQLite's JSON
functions call malformed, and a webhook or an export writes it as a word no strict JSON reader
takes — while PostgreSQL answered 422 with its own "invalid input syntax for type json". Now
both refuse the request with the 64-bit check's 422 (field ``body``), before anything runs.
"""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import text

from tests.live import Deployment

pytestmark = [pytest.mark.integration]

TICKET = {
    "subject": "Odd numbers",
    "body": "a custom field",
    "requester": {"email": "erin@example.com"},
    "group": "Tier 1",
}


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999", "-1e999"])
def test_attack21_a_rest_write_with_a_number_json_does_not_have_is_refused(
    deployment: Deployment, literal: str
) -> None:
    raw = json.dumps({**TICKET, "fields": {"order": 1}}).replace('"order": 1', f'"order": {literal}')
    with deployment.api("ada") as ada:
        for headers in ({"Idempotency-Key": str(uuid.uuid4())}, {}):
            answer = ada.post("/v1/tickets", content=raw, headers={**headers, "content-type": "application/json"})
            assert answer.status_code == 422, answer.text
            assert answer.json()["error"]["field"] == "body", answer.text
        fine = ada.post("/v1/tickets", json={**TICKET, "fields": {"order": 1.5, "note": None}})
        assert fine.status_code == 201, fine.text
    with deployment.team.db.engine.connect() as connection:
        stored = [row[0] for row in connection.execute(text("SELECT fields FROM ticket"))]
    assert len(stored) == 1 and "NaN" not in str(stored) and "Infinity" not in str(stored), stored


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-1e999"])
def test_attack21_a_pushed_number_json_does_not_have_is_refused(deployment: Deployment, literal: str) -> None:
    """The push's body is parsed by the same parser: a pushed ticket.create with ``NaN`` in a
    custom field was stored as on REST. It is refused as a mutation (its id consumed, the client
    not jammed), and the next mutation of the same push applies."""
    from supportdesk.protocol import SCHEMA_VERSION

    created = {
        "ticket_id": str(uuid.uuid4()),
        "subject": "Odd",
        "body": "b",
        "requester": {"value": "erin@example.com"},
        "group_id": deployment.team.tier1,
        "fields": {"order": 1},
    }
    fine = {**created, "ticket_id": str(uuid.uuid4()), "fields": {"order": 2.5}}
    body = json.dumps(
        {
            "client_id": str(uuid.uuid4()),
            "schema_version": SCHEMA_VERSION,
            "mutations": [
                {"id": 1, "name": "ticket.create", "args": created},
                {"id": 2, "name": "ticket.create", "args": fine},
            ],
        }
    ).replace('"order": 1}', f'"order": {literal}}}')
    with deployment.api("ada") as ada:
        pushed = ada.post("/v1/push", content=body, headers={"Content-Type": "application/json"})
    assert pushed.status_code == 200, pushed.text
    first, second = pushed.json()["results"]
    assert not first["ok"] and first["error"]["field"] == "args", first
    assert second["ok"], second
    with deployment.team.db.engine.connect() as connection:
        stored = [row[0] for row in connection.execute(text("SELECT fields FROM ticket"))]
    assert len(stored) == 1 and "NaN" not in str(stored) and "Infinity" not in str(stored), stored
