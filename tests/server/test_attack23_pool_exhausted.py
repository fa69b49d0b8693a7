"""Attack on the PostgreSQL pool (attack23): every connection lent for the pool's whole timeout.

SQLAlchemy then raises its ``TimeoutError``, and every request — a read, a push, a REST write,
the token check before them — was answered 500 "the server failed", logged as a bug of ours.
It is an overload: a 503 with a JSON error and ``Retry-After``, nothing written, and the same
push sent again once a connection is free is applied once.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import TimeoutError as PoolTimeout

from supportdesk import protocol
from supportdesk.server import admin
from supportdesk.server.app import create_app
from supportdesk.server.db import ServerDatabase

pytestmark = [pytest.mark.integration, pytest.mark.parametrize("database", ["postgresql"], indirect=True)]


@pytest.fixture
def client(database: ServerDatabase) -> Iterator[TestClient]:
    app = create_app(database)
    admin.add_agent(database, "Ada", "ada@example.com", "admin", [])
    _token_id, token = admin.new_token(database, "ada@example.com")
    with TestClient(app, raise_server_exceptions=False) as opened:
        opened.headers["authorization"] = f"Bearer {token}"
        yield opened


def _hold_every_connection(database: ServerDatabase, monkeypatch: pytest.MonkeyPatch) -> list[Connection]:
    monkeypatch.setattr(database.engine.pool, "_timeout", 0.2)  # not the 30 s a real wait takes
    held: list[Connection] = []
    with pytest.raises(PoolTimeout):
        while True:
            held.append(database.engine.connect())
    return held


def _push_body() -> dict[str, Any]:
    create = {"subject": "pool-exhausted", "body": "b", "requester": {"value": "pool@example.com"}}
    return {
        "client_id": "attack23-pool",
        "schema_version": protocol.SCHEMA_VERSION,
        "mutations": [{"id": 1, "name": "ticket.create", "args": create}],
    }


def _busy(answer: httpx.Response) -> None:
    assert answer.status_code == 503, answer.text
    assert answer.json()["error"]["code"] == "unavailable"
    assert int(answer.headers["retry-after"]) >= 1


def test_requests_while_every_connection_is_lent_are_503s_and_the_retry_applies_once(
    client: TestClient, database: ServerDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert client.get("/v1/me").status_code == 200
    held = _hold_every_connection(database, monkeypatch)
    try:
        _busy(client.get("/v1/tickets"))
        _busy(client.post("/v1/push", json=_push_body()))
        _busy(client.post("/v1/tickets", json={"subject": "s", "body": "b", "requester": {"email": "r@example.com"}}))
    finally:
        for connection in held:
            connection.close()
    with database.engine.connect() as connection:
        found = connection.execute(text("SELECT count(*) FROM ticket WHERE subject = 'pool-exhausted'"))
        assert found.scalar_one() == 0
    applied = client.post("/v1/push", json=_push_body())
    assert applied.status_code == 200 and applied.json()["results"][0]["ok"], applied.text
    assert client.post("/v1/push", json=_push_body()).json()["results"][0]["replayed"]
    with database.engine.connect() as connection:
        found = connection.execute(text("SELECT count(*) FROM ticket WHERE subject = 'pool-exhausted'"))
        assert found.scalar_one() == 1
