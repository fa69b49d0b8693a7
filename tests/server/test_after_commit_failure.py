"""A hook that raises after a write committed must not turn the answer into an error (issue 13).

The client would take the 500 for a failed write although it committed: a console keeps the
mutations pending, a REST caller writes again. Through the app's own routes (in process, the
app's hooks plus one that raises) on SQLite and PostgreSQL: the push and the REST write answer
what committed, the other hooks and the poke still run, ``/metrics`` counts the failure.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from supportdesk import protocol
from supportdesk.server import admin
from supportdesk.server.app import create_app
from supportdesk.server.apply import Applied
from supportdesk.server.db import ServerDatabase

pytestmark = pytest.mark.integration


class HookFailed(Exception):
    pass


def failing_hook(_database: ServerDatabase, applied: Applied) -> None:
    raise HookFailed(f"after {applied.name}")


@pytest.fixture
def app_client(database: ServerDatabase) -> Iterator[tuple[TestClient, dict[str, Any], list[str]]]:
    app = create_app(database)
    state = app.state.server
    ran: list[str] = []
    # the failing hook first: the app's own hooks (metrics, events) come after it and must still run
    state.after_commit.insert(0, failing_hook)
    state.after_commit.append(lambda _database, applied: ran.append(applied.name))
    admin.add_agent(database, "Ada", "ada@example.com", "admin", [])
    _token_id, token = admin.new_token(database, "ada@example.com")
    with TestClient(app, raise_server_exceptions=False) as client:
        client.headers["authorization"] = f"Bearer {token}"
        yield client, {"database": database, "state": state}, ran


def _failures(client: TestClient) -> int:
    scrape = client.get("/metrics")
    assert scrape.status_code == 200, scrape.text
    pattern = r'supportdesk_after_commit_failures_total\{worker="\d+",step="failing_hook"\} (\d+)'
    found = re.search(pattern, scrape.text)
    return int(found.group(1)) if found else 0


def test_a_push_whose_after_commit_hook_raises_answers_its_committed_results(
    app_client: tuple[TestClient, dict[str, Any], list[str]], caplog: pytest.LogCaptureFixture
) -> None:
    client, context, ran = app_client
    database: ServerDatabase = context["database"]
    before = _failures(client)
    create = {"subject": "Locked out", "body": "help", "requester": {"value": "c@example.com"}}
    body = {
        "client_id": "client-after-commit",
        "schema_version": protocol.SCHEMA_VERSION,
        "mutations": [{"id": 1, "name": "ticket.create", "args": create}],
    }
    with caplog.at_level("ERROR", logger="supportdesk.server.after_commit"):
        answer = client.post("/v1/push", json=body)
    assert answer.status_code == 200, answer.text
    (outcome,) = answer.json()["results"]
    assert outcome["ok"] and outcome["seq"] > 0, outcome
    assert answer.json()["last_mutation_id"] == 1
    assert ran == ["ticket.create"]  # the hooks after the failing one ran
    assert _failures(client) == before + 1
    request_id = answer.headers["x-request-id"]
    assert any(
        "client-after-commit:1" in r.getMessage() and f"(request {request_id})" in r.getMessage()
        for r in caplog.records
        if r.levelname == "ERROR"
    ), "the failure's line names the write and the request"
    with database.engine.connect() as connection:
        subject = connection.execute(
            text("SELECT subject FROM ticket WHERE id = :t"), {"t": outcome["result"]["ticket_id"]}
        ).scalar()
    assert subject == "Locked out"

    # the same push again replays the stored answer: the client hears what committed, once
    again = client.post("/v1/push", json=body)
    assert again.status_code == 200 and again.json()["results"][0]["replayed"], again.text
    assert ran == ["ticket.create"] and _failures(client) == before + 1


def test_a_rest_write_whose_after_commit_hook_raises_answers_201(
    app_client: tuple[TestClient, dict[str, Any], list[str]], caplog: pytest.LogCaptureFixture
) -> None:
    client, context, ran = app_client
    database: ServerDatabase = context["database"]
    before = _failures(client)
    created = client.post(
        "/v1/tickets", json={"subject": "Printer", "body": "jammed", "requester": {"email": "p@example.com"}}
    )
    assert created.status_code == 201, created.text
    number = created.json()["number"]
    with caplog.at_level("ERROR", logger="supportdesk.server.after_commit"):
        note = client.post(f"/v1/tickets/{number}/notes", json={"body": "checked the tray"})
    assert note.status_code == 201, note.text
    assert ran[-1] == "ticket.note", ran
    assert _failures(client) == before + 2  # the create's and the note's
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert errors and all("api:" in message for message in errors), errors
    request_id = note.headers["x-request-id"]
    (noted,) = [message for message in errors if message.endswith("after ticket.note")]
    # the write's reference is made of the request's id, and the line names the request too
    assert noted.startswith(f"after-commit step failing_hook failed for api:{request_id}:"), noted
    assert f"(request {request_id})" in noted, noted
    with database.engine.connect() as connection:
        bodies = connection.execute(text("SELECT body FROM message WHERE body = 'checked the tray'")).all()
    assert len(bodies) == 1
