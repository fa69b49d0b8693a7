"""Attacks on REST group commit (attack23), SQLite: one Idempotency-Key twice in one group, the
first request failing in its savepoint.

The failed request's claim of the key was written in its savepoint: rolled back with it, the
key is free, so the same request later in the same group must write (once) — neither be
answered with a stored answer that does not exist nor be refused as a key in use. And the
failed request's change records must not outlive its savepoint. (Found nothing: kept as the
regression test of both.)
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from supportdesk.server import rest
from supportdesk.server.db import ServerDatabase
from supportdesk.server.state import ServerState
from tests.server.test_rest_group_commit import count, in_one_group, served, ticket

pytestmark = [pytest.mark.integration, pytest.mark.parametrize("database", ["sqlite"], indirect=True)]

__all__ = ["served"]


def test_a_key_whose_first_request_failed_in_the_group_is_written_by_its_repeat(
    served: tuple[TestClient, ServerState], database: ServerDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, state = served
    original = rest.write_records
    failed: list[int] = []

    def failing_once(connection: Any, records: Any, seq: int) -> None:
        original(connection, records, seq)
        if not failed and any("fails once" in str(record) for record in records):
            failed.append(seq)
            raise RuntimeError("a fault after the mutation ran")

    monkeypatch.setattr(rest, "write_records", failing_once)
    key = str(uuid.uuid4())
    body = ticket("it fails once")
    log_before = count(database, "SELECT count(*) FROM change_log")
    answers = in_one_group(client, state, monkeypatch, [(body, key), (body, key), (ticket("bystander"), None)])
    assert [answer.status_code for answer in answers] == [500, 201, 201], [a.text for a in answers]
    assert "Idempotent-Replayed" not in answers[1].headers
    assert count(database, "SELECT count(*) FROM ticket WHERE subject = 'it fails once'") == 1
    assert count(database, "SELECT count(*) FROM api_idempotency WHERE key = :k", k=key) == 1
    # the failed request's change records went with its savepoint: the log's seqs stay contiguous
    seqs = [int(row[0]) for row in _seqs(database)]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))) and len(seqs) > log_before
    replay = client.post("/v1/tickets", json=body, headers={"Idempotency-Key": key})
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json() == answers[1].json()


def _seqs(database: ServerDatabase) -> list[Any]:
    from sqlalchemy import text

    with database.engine.connect() as connection:
        return list(connection.execute(text("SELECT seq FROM change_log ORDER BY seq")))
