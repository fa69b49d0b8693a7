"""attack22: a pushed mutation whose arguments hold what no answer can carry.

The server reads a push's body with Python's JSON parser, which takes a lone surrogate
(``"\\ud800"``) and nests as deep as it likes; its answers are written by orjson, which refuses
both (no UTF-8 for a surrogate; 255 levels at most). Text fields refuse a surrogate when their
arguments are validated, but a value typed ``Any`` kept it — an imported message's ``meta`` — and
``trust.pushed_args`` let it through (orjson's failure was taken for a number past 64 bits, and
there was none). The row was stored, and from then on every pull that reached it answered 500,
for every agent who may see the ticket, as did ``GET /v1/tickets/{number}``: one push jammed the
team's sync for good. Now such a mutation is refused as a mutation (its id consumed, the push
goes on) and nothing is stored.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from tests.live import Deployment

pytestmark = [pytest.mark.integration]

MARK = "MARK-VALUE"


def nested(depth: int) -> Any:
    value: Any = "deep"
    for _ in range(depth):
        value = [value]
    return value


def imported(group_id: str, index: int, meta: dict[str, Any]) -> dict[str, Any]:
    customer_id = f"01900000-0000-7000-8000-{index:012d}"
    at = "2025-03-01T10:00:00+00:00"
    return {
        "subject": f"Imported {index}",
        "requester_id": customer_id,
        "created_at": at,
        "group_id": group_id,
        "customers": [
            {"id": customer_id, "name": "Imp", "identities": [{"kind": "email", "value": f"i{index}@example.com"}]}
        ],
        "messages": [
            {
                "channel": "email",
                "direction": "inbound",
                "author_kind": "customer",
                "body": "hello",
                "created_at": at,
                "meta": meta,
            }
        ],
    }


@pytest.mark.parametrize(
    "meta",
    [
        pytest.param({"k": MARK}, id="a lone surrogate"),
        pytest.param({"k": [1, {"x": MARK}]}, id="a lone surrogate deeper"),
        pytest.param({"k": nested(300)}, id="nested 300 deep"),
    ],
)
def test_attack22_a_pushed_value_no_answer_can_carry_is_refused_and_sync_goes_on(
    deployment: Deployment, meta: dict[str, Any]
) -> None:
    from supportdesk.protocol import SCHEMA_VERSION

    tier1 = deployment.team.tier1
    body = json.dumps(
        {
            "client_id": str(uuid.uuid4()),
            "schema_version": SCHEMA_VERSION,
            "mutations": [
                {"id": 1, "name": "ticket.import", "args": imported(tier1, 1, meta)},
                {"id": 2, "name": "ticket.import", "args": imported(tier1, 2, {"k": "fine"})},
            ],
        }
    ).replace(MARK, "\\ud800")
    with deployment.api("ada") as ada:
        pushed = ada.post("/v1/push", content=body, headers={"Content-Type": "application/json"})
        assert pushed.status_code == 200, pushed.text
        first, second = pushed.json()["results"]
        assert not first["ok"] and first["error"]["field"] == "args", first
        assert second["ok"], second
        for number in (1, 2):
            shown = ada.get(f"/v1/tickets/{number}")
            assert shown.status_code in (200, 404), shown.text
    for who in ("ada", "sam"):
        with deployment.api(who) as client:
            pulled = client.get("/v1/pull", params={"cursor": 0})
            assert pulled.status_code == 200, (who, pulled.text)
            subjects = [c["data"].get("subject") for c in pulled.json()["changes"] if c["entity"] == "ticket"]
            assert "Imported 2" in subjects and "Imported 1" not in subjects, subjects
