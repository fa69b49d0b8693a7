"""Attack on the push executor (attack23): a push that arrives while the server stops.

The lifespan's stop shuts the push executor down (``cancel_futures``): a push sent after that
met the executor's ``RuntimeError`` and was answered 500 as a bug of ours; one still queued
behind busy push threads was cancelled under its request. Either must be a clean 503 with a
JSON error and ``Retry-After``, nothing of it written, and the sync client's next attempt of
the same ids (to the restarted server) applied exactly once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from supportdesk import protocol
from supportdesk.server import admin, push_threads
from supportdesk.server.app import create_app
from supportdesk.server.db import ServerDatabase
from supportdesk.sync.client import Offline, check

pytestmark = pytest.mark.integration

WAIT = 30.0
CLIENT = "client-shutdown"


@pytest.fixture
def served(database: ServerDatabase) -> Iterator[tuple[TestClient, Any, str]]:
    app = create_app(database)
    admin.add_agent(database, "Ada", "ada@example.com", "admin", [])
    _token_id, token = admin.new_token(database, "ada@example.com")
    with TestClient(app, raise_server_exceptions=False) as client:
        client.headers["authorization"] = f"Bearer {token}"
        yield client, app.state.server, token


def _create(mutation_id: int, subject: str) -> dict[str, Any]:
    args = {"subject": subject, "body": "help", "requester": {"value": f"{subject}@example.com"}}
    return {"id": mutation_id, "name": "ticket.create", "args": args}


def _body(*mutations: dict[str, Any]) -> dict[str, Any]:
    return {"client_id": CLIENT, "schema_version": protocol.SCHEMA_VERSION, "mutations": list(mutations)}


def _tickets(database: ServerDatabase, subject: str) -> int:
    with database.engine.connect() as connection:
        found = connection.execute(text("SELECT count(*) FROM ticket WHERE subject = :s"), {"s": subject})
        return int(found.scalar_one())


def _assert_stopping(answer: httpx.Response) -> None:
    assert answer.status_code == 503, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.json()["error"]["code"] == "unavailable"
    assert int(answer.headers["retry-after"]) >= 1


def _restart(state: Any) -> None:
    """What a restarted server has: a push executor that runs."""
    state.extensions[push_threads.KEY] = ThreadPoolExecutor(max_workers=2, thread_name_prefix="push")


def test_a_push_after_the_executor_stopped_is_a_503_and_its_retry_applies_once(
    served: tuple[TestClient, Any, str], database: ServerDatabase
) -> None:
    client, state, _token = served
    executor: ThreadPoolExecutor = state.extensions[push_threads.KEY]
    executor.shutdown(wait=False, cancel_futures=True)  # what the lifespan's stop does
    answer = client.post("/v1/push", json=_body(_create(1, "stopping-one")))
    _assert_stopping(answer)
    assert _tickets(database, "stopping-one") == 0
    # the sync client takes it for an outage: it keeps its outbox and sends the same ids again
    with pytest.raises(Offline, match="503"):
        check(answer, "http://testserver")
    _restart(state)
    try:
        applied = client.post("/v1/push", json=_body(_create(1, "stopping-one")))
        assert applied.status_code == 200, applied.text
        assert [r["ok"] for r in applied.json()["results"]] == [True]
        again = client.post("/v1/push", json=_body(_create(1, "stopping-one")))  # the stored result
        (first,), (replayed,) = applied.json()["results"], again.json()["results"]
        assert replayed["replayed"] and replayed["result"] == first["result"] and replayed["seq"] == first["seq"]
        assert _tickets(database, "stopping-one") == 1
    finally:
        state.extensions[push_threads.KEY].shutdown(wait=True)


def test_a_push_queued_when_the_executor_stops_is_a_503_not_a_cancelled_request(
    served: tuple[TestClient, Any, str], database: ServerDatabase
) -> None:
    client, state, _token = served
    executor: ThreadPoolExecutor = state.extensions[push_threads.KEY]
    release = threading.Event()
    busy = [executor.submit(release.wait, WAIT) for _ in range(executor._max_workers)]
    answers: list[httpx.Response] = []
    pushing = threading.Thread(
        target=lambda: answers.append(client.post("/v1/push", json=_body(_create(1, "queued-one"))))
    )
    pushing.start()
    try:
        deadline = time.monotonic() + WAIT
        while executor._work_queue.qsize() < 1:  # the push waits behind the busy threads
            assert time.monotonic() < deadline, "the push never reached the executor's queue"
            time.sleep(0.005)
        executor.shutdown(wait=False, cancel_futures=True)
    finally:
        release.set()
    pushing.join(WAIT)
    assert not pushing.is_alive()
    assert all(f.result() for f in busy)
    (answer,) = answers
    _assert_stopping(answer)
    assert _tickets(database, "queued-one") == 0
