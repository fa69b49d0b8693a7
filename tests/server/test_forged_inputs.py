"""Forged, huge or malformed numbers, cursors and keys: each is a 4xx JSON error naming its
field, never a 500, and the server's log holds no SQL and none of the values sent."""

from __future__ import annotations

import base64
import json
from typing import Any

from tests.live import Deployment

HUGE = "9" * 30
NUL = "\x00"


def b64(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


#: (method, path, query, JSON body, status, field)
CASES: list[tuple[str, str, dict[str, Any] | None, Any, int, str]] = [
    ("GET", "/v1/pull", {"cursor": HUGE}, None, 422, "cursor"),
    ("GET", "/v1/pull", {"cursor": str(2**63)}, None, 422, "cursor"),
    ("GET", "/v1/pull", {"cursor": "-1"}, None, 422, "cursor"),
    ("GET", "/v1/pull", {"cursor": "1e400"}, None, 422, "cursor"),
    ("GET", "/v1/pull", {"client_id": "a" + NUL + "b"}, None, 422, "client_id"),
    ("GET", f"/v1/tickets/{HUGE}", None, None, 422, "number"),
    ("GET", f"/v1/tickets/{2**31}", None, None, 422, "number"),
    ("GET", "/v1/tickets/0", None, None, 422, "number"),
    ("GET", "/v1/tickets/-5", None, None, 422, "number"),
    ("GET", "/v1/tickets", {"after": b64([{"a": 1}, "x"])}, None, 422, "after"),
    ("GET", "/v1/tickets", {"after": b64(["2026-01-01 00:00:00.000000", {"id": 1}])}, None, 422, "after"),
    ("GET", "/v1/tickets", {"after": b64(["not a time", "x"])}, None, 422, "after"),
    ("GET", "/v1/tickets", {"after": b64([int(HUGE), "x"]), "query": "sort:number-asc"}, None, 422, "after"),
    ("GET", "/v1/tickets", {"after": b64(["2026-01-01 00:00:00", "x" * 500])}, None, 422, "after"),
    ("GET", "/v1/tickets", {"after": "!!!not base64!!!"}, None, 422, "after"),
    ("GET", "/v1/tickets", {"after": b64([1, 2, 3])}, None, 422, "after"),
    ("GET", "/v1/tickets", {"query": "subject:" + NUL}, None, 422, "query"),
    ("GET", "/v1/bootstrap", {"table": "ticket", "after": json.dumps([{"x": 1}])}, None, 422, "after"),
    ("GET", "/v1/bootstrap", {"table": "ticket", "after": json.dumps([int(HUGE)])}, None, 422, "after"),
    ("GET", "/v1/bootstrap", {"table": "ticket", "after": json.dumps(["a" + NUL])}, None, 422, "after"),
    ("GET", "/v1/bootstrap", {"table": "ticket", "after": "[" * 5000}, None, 422, "after"),
    ("POST", "/v1/rows", None, {"keys": [{"table": "ticket", "key": [int(HUGE)]}]}, 422, "keys.0.key.0"),
    ("POST", "/v1/rows", None, {"keys": [{"table": "ticket", "key": [{"id": "x"}]}]}, 422, "keys.0.key.0"),
    ("POST", "/v1/rows", None, {"keys": [{"table": "ticket", "key": ["x" + NUL]}]}, 422, "keys.0.key.0"),
    ("POST", "/v1/presence", None, {"ticket_id": "t" + NUL, "state": "viewing"}, 422, "ticket_id"),
    (
        "POST",
        "/v1/push",
        None,
        {"client_id": "client" + NUL + "xx", "schema_version": 1, "mutations": []},
        422,
        "client_id",
    ),
    (
        "POST",
        "/v1/push",
        None,
        {
            "client_id": "forged-ids",
            "schema_version": 1,
            "mutations": [{"id": int(HUGE), "name": "ticket.note", "args": {}}],
        },
        422,
        "mutations.0.id",
    ),
    ("POST", "/v1/admin/tokens/revoke", {"token_id": "x" + NUL}, None, 422, "token_id"),
]


def test_forged_numbers_cursors_and_keys_are_4xx_errors_naming_the_field(deployment: Deployment) -> None:
    answers = []
    with deployment.api("ada") as client:
        for method, path, params, body, status, field in CASES:
            response = client.request(method, path, params=params, json=body)
            answers.append((path, params or body, response.status_code, response.text[:300]))
            assert response.status_code == status, answers[-1]
            assert response.headers["content-type"].startswith("application/json"), answers[-1]
            error = response.json()["error"]
            assert error["field"] == field, answers[-1]
            assert error["message"] and error["code"], answers[-1]
    deployment.server.stop()
    log = deployment.server.log.read_text(errors="replace")
    for leak in ("SELECT", "[SQL", "parameters", "Traceback", HUGE, "not a time"):
        assert leak not in log, f"the server log holds {leak!r}:\n{log[-3000:]}"


def test_a_database_failure_is_a_json_500_logged_without_sql(sqlite_deployment: Deployment) -> None:
    """When the database itself fails (here: a table taken away under the running server), the
    client gets the JSON error and the log the error's class and stack, not the statement."""
    from sqlalchemy import text

    with sqlite_deployment.team.db.engine.connect() as connection, connection.begin():
        connection.execute(text("ALTER TABLE change_log RENAME TO change_log_elsewhere"))
    with sqlite_deployment.api("sam") as client:
        response = client.get("/v1/pull", params={"cursor": 0, "client_id": "secret-client-7731"})
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal"
    sqlite_deployment.server.stop()
    log = sqlite_deployment.server.log.read_text(errors="replace")
    assert "unexpected OperationalError" in log and "/v1/pull" in log
    for leak in ("SELECT", "change_log", "secret-client-7731", "[SQL", "parameters"):
        assert leak not in log, f"the server log holds {leak!r}:\n{log[-3000:]}"
