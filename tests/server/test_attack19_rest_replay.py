"""Attack on REST replays read on the write's own connection (rest20c; attack19): a replay must
hand back the very answer the first request got — on SQLite it is read on the driver's cursor
and its JSON decoded by hand, not by SQLAlchemy's JSON type that stored it."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from supportdesk.protocol import SCHEMA_VERSION
from tests.live import Deployment

pytestmark = [pytest.mark.integration]


def ticket_with(value: Any) -> dict[str, Any]:
    return {
        "subject": "Big numbers",
        "body": "a custom field's number",
        "requester": {"email": "erin@example.com"},
        "group": "Tier 1",
        "fields": {"order": value},
    }


@pytest.mark.parametrize("value", [2**70, -(2**64), 12345678901234567890123])
def test_a_number_past_64_bits_is_refused_with_a_4xx(deployment: Deployment, value: Any) -> None:
    """Failed before: the request's fingerprint (orjson) raised TypeError, a 500 for any write
    carrying such a number, with or without an Idempotency-Key."""
    with deployment.api("ada") as ada:
        for headers in ({"Idempotency-Key": str(uuid.uuid4())}, {}):
            answer = ada.post("/v1/tickets", json=ticket_with(value), headers=headers)
            assert answer.status_code == 422, answer.text
            assert answer.json()["error"]["field"] == "body"


@pytest.mark.parametrize("value", [2**63 - 1, -(2**63), 1.5, 1e300, "x", None, True])
def test_a_replay_answers_what_the_first_request_answered(deployment: Deployment, value: Any) -> None:
    """The stored answer of a write, read again on the write's own connection (on SQLite decoded
    by hand), is the first answer: the same numbers, of the same JSON types."""
    body = ticket_with(value)
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    with deployment.api("ada") as ada:
        first = ada.post("/v1/tickets", json=body, headers=headers)
        again = ada.post("/v1/tickets", json=body, headers=headers)
    assert first.status_code < 500, first.text
    assert again.status_code == first.status_code, again.text
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json() == first.json()
    assert repr(again.json().get("fields")) == repr(first.json().get("fields"))


def test_a_pushed_number_past_64_bits_never_jams_the_pulls(deployment: Deployment) -> None:
    """A console (or a forged one) pushes a ticket whose custom field holds 2**70: the server
    encodes records with orjson, which cannot write it. The push must be refused or stored in a
    form every later pull can carry — never a record that breaks every pull of the group."""
    client_id = str(uuid.uuid4())
    created = {
        "ticket_id": str(uuid.uuid4()),
        "subject": "Big",
        "body": "b",
        "requester": {"value": "erin@example.com"},
        "group_id": deployment.team.tier1,
        "fields": {"order": 2**70},
    }
    with deployment.api("ada") as ada, deployment.api("sam") as sam:
        pushed = ada.post(
            "/v1/push",
            json={
                "client_id": client_id,
                "schema_version": SCHEMA_VERSION,
                "mutations": [{"id": 1, "name": "ticket.create", "args": created}],
            },
        )
        assert pushed.status_code < 500, pushed.text
        assert pushed.status_code != 404
        refused = pushed.status_code != 200 or not pushed.json()["results"][0]["ok"]
        pulled = sam.get("/v1/pull", params={"cursor": 0})
        assert pulled.status_code == 200, pulled.text
        changes = pulled.json()["changes"]  # the whole answer arrived
        # refused, or carried (then as the number it was)
        assert refused or any(c.get("data", {}).get("fields") == {"order": 2**70} for c in changes)


NOTE = {"id": 1, "name": "ticket.note", "args": {"ticket_id": "0190a000-0000-7000-8000-000000000001", "body": "x"}}


@pytest.mark.parametrize("client_id", ["abcdefgh\ud800", "\udfff" * 10, "abcdefgh\u0001"])
def test_a_push_from_a_client_id_with_a_lone_surrogate_is_a_4xx(deployment: Deployment, client_id: str) -> None:
    """The client row is read and written on the driver's cursor (issue 19): a client id the
    driver cannot encode must be a 4xx, not a 500."""
    import json

    body = json.dumps({"client_id": client_id, "schema_version": SCHEMA_VERSION, "mutations": [NOTE]})
    with deployment.api("ada") as ada:
        pushed = ada.post("/v1/push", content=body, headers={"Content-Type": "application/json"})
    assert pushed.status_code < 500, pushed.text
