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
