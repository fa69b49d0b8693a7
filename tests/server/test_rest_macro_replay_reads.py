"""A macro applied over REST with an Idempotency-Key reads the key's stored answer once.

The endpoint reads it before rendering the macro's comment (a retry must get the first answer
even when the macro is gone since); the write that follows went on to read it a second time
before its transaction. In process, on SQLite and PostgreSQL: the reads of the stored answer
are counted for a first apply and for its replay, and a replay still answers what was stored.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from supportdesk.domain.context import SYSTEM
from supportdesk.server import admin, idempotency
from supportdesk.server.app import create_app
from supportdesk.server.apply import apply_as
from supportdesk.server.db import ServerDatabase

pytestmark = pytest.mark.integration


@pytest.fixture
def client(database: ServerDatabase) -> Iterator[TestClient]:
    app = create_app(database)
    admin.add_agent(database, "Ada", "ada@example.com", "admin", [])
    _token_id, token = admin.new_token(database, "ada@example.com")
    with TestClient(app) as opened:
        opened.headers["authorization"] = f"Bearer {token}"
        yield opened


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The reads of a stored answer, by which function made them."""
    counted: list[str] = []
    for name in ("answered", "answered_on_driver"):
        original = getattr(idempotency, name)

        def counting(*args: Any, _original: Any = original, _name: str = name) -> Any:
            counted.append(_name)
            return _original(*args)

        monkeypatch.setattr(idempotency, name, counting)
    return counted


def _ticket_and_macro(client: TestClient, database: ServerDatabase) -> tuple[Any, str]:
    """A ticket made over REST and the URL that applies a new macro to it."""
    body = {"subject": "Refund", "body": "Where is it?", "requester": {"email": "kim@example.com"}}
    created = client.post("/v1/tickets", json=body)
    assert created.status_code == 201, created.text
    macro, _ = apply_as(database, SYSTEM, "macro.create", {"name": "Refunded", "body": "We refunded it."})
    return created, f"/v1/tickets/{created.json()['number']}/macros/{macro['macro_id']}"


def test_a_macro_apply_with_a_key_reads_the_stored_answer_once(
    client: TestClient, database: ServerDatabase, reads: list[str]
) -> None:
    created, url = _ticket_and_macro(client, database)
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    reads.clear()
    first = client.post(url, headers=headers)
    assert first.status_code == 200, first.text
    assert len(reads) == 1, reads
    reads.clear()
    again = client.post(url, headers=headers)
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true", again.text
    assert again.json() == first.json()
    assert len(reads) == 1, reads
    with database.engine.connect() as connection:
        from sqlalchemy import text

        messages = connection.execute(
            text("SELECT count(*) FROM message WHERE ticket_id = :t AND body = 'We refunded it.'"),
            {"t": created.json()["id"]},
        ).scalar()
    assert messages == 1  # applied once


def test_a_macro_apply_whose_key_another_attempt_answered_meanwhile_gets_that_answer(
    client: TestClient, database: ServerDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The write no longer reads the answer before its transaction: an answer stored between
    the endpoint's read and the write is found by the claim."""
    _created, url = _ticket_and_macro(client, database)
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    first = client.post(url, headers=headers)
    assert first.status_code == 200, first.text
    from supportdesk.server.routes import kb

    monkeypatch.setattr(kb, "replayed", lambda *_args: None)  # as if read before the first stored it
    again = client.post(url, headers=headers)
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true", again.text
    assert again.json() == first.json()
