"""A REST write's audit events are held and written in one statement (rest20i), and the trail
is the one written event by event.

A REST create audited four rows in four INSERTs. The REST path now holds the events of the
mutations a push holds (``apply.HELD_AUDITS``) and writes them in one executemany: before the
write's seqs when it runs alone (every backend), at the group's end in a group commit
(SQLite). What must not change: which rows, in which order (ids), with which reference and
source; nothing of a refused request or of a request that failed in a group; the events held
so far written before a mutation that is not held (it may read the trail).

Each scenario runs twice on the same database — as shipped, and with ``rest.HELD_AUDITS``
empty (every event written at once, the path before) — and the two trails are compared write
by write, ids and times blanked.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from supportdesk.domain import tx as tx_module
from supportdesk.server import admin, rest
from supportdesk.server.app import create_app
from supportdesk.server.db import ServerDatabase
from supportdesk.server.state import ServerState
from tests.server.test_rest_group_commit import in_one_group

pytestmark = pytest.mark.integration

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:\d{2}|Z)?")


@pytest.fixture
def served(database: ServerDatabase) -> Iterator[tuple[TestClient, ServerState]]:
    app = create_app(database)
    admin.add_agent(database, "Ada", "ada@example.com", "admin", [])
    _token_id, token = admin.new_token(database, "ada@example.com")
    with TestClient(app, raise_server_exceptions=False) as opened:
        opened.headers["authorization"] = f"Bearer {token}"
        yield opened, app.state.server


def trails(database: ServerDatabase, since: int) -> list[list[tuple[Any, ...]]]:
    """The audit rows written after id ``since``, one list per write (its reference), in id
    order; ids, numbers that differ between runs and instants blanked (per write, an id keeps
    its place: the same id twice reads the same)."""
    with database.engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT id, mutation_ref, mutation, entity, entity_id, field, before, after, source "
                "FROM audit_event WHERE id > :since ORDER BY id"
            ),
            {"since": since},
        ).all()
    by_ref: dict[str, list[tuple[Any, ...]]] = {}
    names: dict[str, dict[str, str]] = {}
    for _id, ref, mutation, entity, entity_id, field, before, after, source in rows:
        known = names.setdefault(ref, {})

        def blank(value: Any, known: dict[str, str] = known) -> str:
            shown = INSTANT.sub("<time>", str(value))
            return UUID.sub(lambda found: known.setdefault(found.group(0), f"<id{len(known)}>"), shown)

        by_ref.setdefault(ref, []).append(
            (mutation, entity, blank(entity_id), field, blank(before), blank(after), source)
        )
    for trail in by_ref.values():  # numbers and words that name the run
        trail[:] = [tuple(re.sub(r"run[ab]|#?\b\d+\b", "<n>", str(part)) for part in row) for row in trail]
    return list(by_ref.values())


def last_id(database: ServerDatabase) -> int:
    with database.engine.connect() as connection:
        return int(connection.execute(text("SELECT coalesce(max(id), 0) FROM audit_event")).scalar_one())


def writes(client: TestClient, run: str) -> None:
    """Creates, a refused create, a PATCH mixing held mutations (tags) with others (priority,
    status: not held, so the tags' events are written before they run), a reply and a note."""
    email = f"{run}-{uuid.uuid4().hex[:6]}@example.com"
    created = client.post(
        "/v1/tickets",
        json={"subject": f"Refund {run}", "body": "It broke", "requester": {"email": email}, "tags": ["vip"]},
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )
    assert created.status_code == 201, created.text
    number = created.json()["number"]
    refused = client.post(
        "/v1/tickets",
        json={"subject": f"Nope {run}", "body": "x", "requester": {"email": f"x{email}"}, "group": "no such group"},
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )
    assert refused.status_code == 422, refused.text
    again = client.post("/v1/tickets", json={"subject": f"Again {run}", "body": "y", "requester": {"email": email}})
    assert again.status_code == 201, again.text
    patched = client.patch(
        f"/v1/tickets/{number}",
        json={"tags_add": ["escalate"], "tags_remove": ["vip"], "priority": "high", "status": "open"},
    )
    assert patched.status_code == 200, patched.text
    assert client.post(f"/v1/tickets/{number}/replies", json={"body": f"On it {run}"}).status_code in (200, 201)
    assert client.post(f"/v1/tickets/{number}/notes", json={"body": f"Note {run}"}).status_code in (200, 201)


def test_a_rest_writes_trail_held_is_the_trail_written_event_by_event(
    served: tuple[TestClient, ServerState], database: ServerDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, _state = served
    since = last_id(database)
    writes(client, "runa")
    held = trails(database, since)
    with monkeypatch.context() as patch:
        patch.setattr(rest, "HELD_AUDITS", frozenset())
        since = last_id(database)
        writes(client, "runb")
        plain = trails(database, since)
    assert len(held) == 5  # the refused create left no row
    assert held == plain
    assert not any("Nope" in str(row) for trail in held for row in trail)


def test_a_lone_create_writes_its_audit_rows_in_one_statement(
    served: tuple[TestClient, ServerState], database: ServerDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, _state = served
    calls: list[int] = []
    original: Callable[..., None] = tx_module.prepared.execute_many

    def counting(connection: Any, statement: Any, params: Any) -> None:
        if "audit_event" in str(statement):
            calls.append(len(params))
        original(connection, statement, params)

    monkeypatch.setattr(tx_module.prepared, "execute_many", counting)
    since = last_id(database)
    body = {"subject": "One statement", "body": "b", "requester": {"email": f"{uuid.uuid4().hex[:8]}@example.com"}}
    assert client.post("/v1/tickets", json=body).status_code == 201
    rows = last_id(database) - since
    assert rows >= 4 and calls == [rows]


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_a_group_writes_its_requests_trails_once_each_in_order_and_none_of_the_failed(
    served: tuple[TestClient, ServerState], database: ServerDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, state = served
    original = rest.write_records

    def failing(connection: Any, records: Any, seq: int) -> None:
        original(connection, records, seq)
        if any("explodes" in str(record) for record in records):
            raise RuntimeError("a fault after the mutation ran")

    def body(subject: str, **more: Any) -> dict[str, Any]:
        return {
            "subject": subject,
            "body": subject,
            "requester": {"email": f"{uuid.uuid4().hex[:8]}@example.com"},
            **more,
        }

    # the trail of one create alone, as written event by event
    with monkeypatch.context() as patch:
        patch.setattr(rest, "HELD_AUDITS", frozenset())
        since = last_id(database)
        assert client.post("/v1/tickets", json=body("alone")).status_code == 201
        [alone] = trails(database, since)
    monkeypatch.setattr(rest, "write_records", failing)
    requests = [
        (body("first"), str(uuid.uuid4())),
        (body("refused", group="no such group"), str(uuid.uuid4())),
        (body("it explodes"), str(uuid.uuid4())),
        (body("last"), None),
    ]
    since = last_id(database)
    answers = in_one_group(client, state, monkeypatch, requests)
    assert [answer.status_code for answer in answers] == [201, 422, 500, 201]
    monkeypatch.setattr(rest, "write_records", original)
    found = trails(database, since)
    # the request holding the turn ran alone (its own trail first), then the group's two
    assert len(found) == 3
    assert all(trail == alone for trail in found)
    with database.engine.connect() as connection:
        subjects = connection.execute(
            text(
                "SELECT ticket.subject FROM audit_event JOIN ticket ON ticket.id = audit_event.entity_id "
                "WHERE audit_event.id > :since AND audit_event.field = 'ticket.created' ORDER BY audit_event.id"
            ),
            {"since": since},
        ).scalars()
        assert list(subjects) == ["holds the turn", "first", "last"]
    # nothing stays held for the next write
    since = last_id(database)
    assert client.post("/v1/tickets", json=body("after the group")).status_code == 201
    assert trails(database, since) == [alone]
