"""REST writes that queue on SQLite commit together, each as if it had run alone (rest20g).

A request that arrives while another REST write runs waits, and the requests waiting are then
written in one transaction, each in its own savepoint (:mod:`supportdesk.server.group_commit`).
Here the first request is held (before its transaction) until the others queued behind it, so
the next group is known; then what each request must keep is checked: its own answer, its own
Idempotency-Key (a repeat in the same group gets the first answer, another body its 422), its
refusal stored and nothing else of it, an unexpected error answered 500 with nothing of it
kept and its key free, and a group whose transaction broke answers every request with an error
and keeps nothing.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from supportdesk.server import admin, rest
from supportdesk.server.app import create_app
from supportdesk.server.db import ServerDatabase
from supportdesk.server.group_commit import GroupCommit
from supportdesk.server.state import ServerState

pytestmark = [pytest.mark.integration, pytest.mark.parametrize("database", ["sqlite"], indirect=True)]

WAIT = 60.0


@pytest.fixture
def served(database: ServerDatabase) -> Iterator[tuple[TestClient, ServerState]]:
    app = create_app(database)
    admin.add_agent(database, "Ada", "ada@example.com", "admin", [])
    _token_id, token = admin.new_token(database, "ada@example.com")
    with TestClient(app, raise_server_exceptions=False) as opened:
        opened.headers["authorization"] = f"Bearer {token}"
        yield opened, app.state.server


def ticket(subject: str, **more: Any) -> dict[str, Any]:
    return {"subject": subject, "body": subject, "requester": {"email": f"{uuid.uuid4().hex[:10]}@example.com"}, **more}


def in_one_group(
    client: TestClient,
    state: ServerState,
    monkeypatch: pytest.MonkeyPatch,
    requests: list[tuple[dict[str, Any], str | None]],
) -> list[httpx.Response]:
    """A first create is held before its transaction until every one of ``requests`` (body,
    key) waits behind it; then all go. Returns their answers, in order, and checks that they
    were written as one group."""
    committer = rest._committer(state)
    held, entered = threading.Event(), threading.Event()
    original = rest._write_once

    def holding(*args: Any, **kwargs: Any) -> Any:
        if not entered.is_set():
            entered.set()
            assert held.wait(WAIT)
        return original(*args, **kwargs)

    monkeypatch.setattr(rest, "_write_once", holding)
    answers: list[httpx.Response | None] = [None] * len(requests)

    def post(index: int, body: dict[str, Any], key: str | None) -> None:
        answers[index] = client.post("/v1/tickets", json=body, headers={"Idempotency-Key": key} if key else {})

    first = threading.Thread(target=post, args=(0, ticket("holds the turn"), None))
    answers.insert(0, None)
    first.start()
    assert entered.wait(WAIT)
    groups, grouped = committer.groups, committer.grouped
    threads = [threading.Thread(target=post, args=(index + 1, *request)) for index, request in enumerate(requests)]
    for queued, thread in enumerate(threads, start=1):  # one after the other: the group's order is known
        thread.start()
        _wait_for(lambda queued=queued: len(committer._waiting) == queued, "the request to queue")
    held.set()
    for thread in [first, *threads]:
        thread.join(WAIT)
    assert (committer.groups - groups, committer.grouped - grouped) == (1, len(requests))
    monkeypatch.setattr(rest, "_write_once", original)
    assert answers[0] is not None and answers[0].status_code == 201
    return [answer for answer in answers[1:] if answer is not None]


def _wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"waited too long for {what}"
        time.sleep(0.005)


def count(database: ServerDatabase, sql: str, **params: Any) -> int:
    with database.engine.connect() as connection:
        return int(connection.execute(text(sql), params).scalar_one())


def test_requests_written_together_each_keep_their_answer_key_and_refusal(
    served: tuple[TestClient, ServerState], database: ServerDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, state = served
    k1, k2 = str(uuid.uuid4()), str(uuid.uuid4())
    a = ticket("group A")
    refused = ticket("group refused", group="no such group")
    answers = in_one_group(
        client,
        state,
        monkeypatch,
        [(a, k1), (a, k1), (ticket("group C"), k1), (refused, k2), (ticket("group E"), None)],
    )
    first, repeat, other_body, refusal, plain = answers
    assert first.status_code == 201, first.text
    assert repeat.status_code == 201 and repeat.json() == first.json()
    assert repeat.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    assert other_body.status_code == 422 and other_body.json()["error"]["code"] == "idempotency_key_reused"
    assert refusal.status_code == 422 and refusal.json()["error"]["field"] == "group"
    assert plain.status_code == 201 and plain.json()["number"] != first.json()["number"]
    subjects = "SELECT count(*) FROM ticket WHERE subject = :s"
    assert [count(database, subjects, s=s) for s in ("group A", "group C", "group refused", "group E")] == [1, 0, 0, 1]
    assert count(database, "SELECT count(*) FROM identity WHERE value = :v", v=refused["requester"]["email"]) == 0
    # each is its own write: its own audit reference, its own seqs, answers equal to a read
    for answer in (first, plain):
        read = client.get(f"/v1/tickets/{answer.json()['number']}")
        assert read.status_code == 200
        assert {k: read.json()[k] for k in ("id", "number", "version")} == {
            k: answer.json()[k] for k in ("id", "number", "version")
        }
    refs = "SELECT count(DISTINCT mutation_ref) FROM audit_event WHERE entity = 'ticket' AND entity_id IN (:a, :b)"
    assert count(database, refs, a=first.json()["id"], b=plain.json()["id"]) == 2
    # the refusal was stored under its key, the created ticket under its own
    again = client.post("/v1/tickets", json=refused, headers={"Idempotency-Key": k2})
    assert again.status_code == 422 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == refusal.json()
    replay = client.post("/v1/tickets", json=a, headers={"Idempotency-Key": k1})
    assert replay.status_code == 201 and replay.json() == first.json()


def test_an_error_in_one_request_leaves_nothing_of_it_and_the_others_commit(
    served: tuple[TestClient, ServerState], database: ServerDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, state = served
    original = rest.write_records

    def failing(connection: Any, records: Any, seq: int) -> None:
        original(connection, records, seq)
        if any("explodes" in str(record) for record in records):
            raise RuntimeError("a fault after the mutation ran")

    monkeypatch.setattr(rest, "write_records", failing)
    k1, k2 = str(uuid.uuid4()), str(uuid.uuid4())
    before = ticket("before it")
    faulty = ticket("it explodes")
    after = ticket("after it")
    answers = in_one_group(client, state, monkeypatch, [(before, None), (faulty, k1), (after, k2)])
    assert [answer.status_code for answer in answers] == [201, 500, 201]
    subjects = "SELECT count(*) FROM ticket WHERE subject = :s"
    assert [count(database, subjects, s=s) for s in ("before it", "it explodes", "after it")] == [1, 0, 1]
    assert count(database, "SELECT count(*) FROM api_idempotency WHERE key = :k", k=k1) == 0
    # the seqs of the group are contiguous: the failed request's were rolled back with it
    seqs = [row[0] for row in _log_seqs(database)]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    monkeypatch.setattr(rest, "write_records", original)
    retry = client.post("/v1/tickets", json=faulty, headers={"Idempotency-Key": k1})
    assert retry.status_code == 201, retry.text
    assert "Idempotent-Replayed" not in retry.headers


def _log_seqs(database: ServerDatabase) -> list[Any]:
    with database.engine.connect() as connection:
        return list(connection.execute(text("SELECT seq FROM change_log ORDER BY seq")))


def test_a_group_whose_transaction_ended_answers_every_request_with_an_error_and_keeps_nothing(
    served: tuple[TestClient, ServerState], database: ServerDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, state = served
    original = rest.write_records

    def ending(connection: Any, records: Any, seq: int) -> None:
        original(connection, records, seq)
        if any("ends it" in str(record) for record in records):
            connection.connection.dbapi_connection.execute("ROLLBACK")  # as SQLite does on a full disk

    monkeypatch.setattr(rest, "write_records", ending)
    keys = [str(uuid.uuid4()) for _ in range(3)]
    bodies = [ticket("first of three"), ticket("it ends it"), ticket("last of three")]
    answers = in_one_group(client, state, monkeypatch, list(zip(bodies, keys, strict=True)))
    assert [answer.status_code for answer in answers] == [500, 500, 500]
    subjects = "SELECT count(*) FROM ticket WHERE subject IN ('first of three', 'it ends it', 'last of three')"
    assert count(database, subjects) == 0
    assert (
        count(
            database, "SELECT count(*) FROM api_idempotency WHERE key IN (:a, :b, :c)", a=keys[0], b=keys[1], c=keys[2]
        )
        == 0
    )
    monkeypatch.setattr(rest, "write_records", original)
    for body, key in zip(bodies, keys, strict=True):  # each may be sent again
        assert client.post("/v1/tickets", json=body, headers={"Idempotency-Key": key}).status_code == 201


def test_a_lone_request_is_not_grouped(served: tuple[TestClient, ServerState]) -> None:
    client, state = served
    committer: GroupCommit = rest._committer(state)
    for index in range(3):
        assert client.post("/v1/tickets", json=ticket(f"alone {index}")).status_code == 201
    assert committer.groups == 0
