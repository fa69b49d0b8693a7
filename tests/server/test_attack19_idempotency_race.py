"""Attack on REST replays read on the write's own connection (rest20c; attack19): one
Idempotency-Key raced with two different bodies, over many connections at once — on SQLite, and
on PostgreSQL across two server processes (``serve --workers 2``, the kernel spreading the
connections). Exactly one ticket is made; every request with the winning body gets that
ticket (one made it, the others replayed it), every request with the other body a 422."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from tests.live import LOADED_MACHINE_TIMEOUT, deploy

pytestmark = [pytest.mark.integration]

BODY: dict[str, Any] = {
    "subject": "Raced key",
    "body": "sent twice with one key",
    "requester": {"email": "erin@example.com"},
    "group": "Tier 1",
}


def at_once(url: str, token: str, bodies: list[dict[str, Any]], key: str) -> list[tuple[int, dict[str, Any], int]]:
    """Each body POSTed by its own thread on its own connection, released together:
    (index of the body, answer JSON, status)."""
    barrier = threading.Barrier(len(bodies))
    answers: list[tuple[int, dict[str, Any], int]] = []
    lock = threading.Lock()

    def send(index: int) -> None:
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": key}
        with httpx.Client(base_url=url, timeout=LOADED_MACHINE_TIMEOUT) as client:
            client.get("/v1/health")  # connected before the barrier
            barrier.wait()
            response = client.post("/v1/tickets", json=bodies[index], headers=headers)
        with lock:
            answers.append((index, response.json(), response.status_code))

    threads = [threading.Thread(target=send, args=(index,)) for index in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(2 * LOADED_MACHINE_TIMEOUT)
    assert len(answers) == len(bodies), "a request neither answered nor failed"
    return answers


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_one_key_raced_with_two_bodies_makes_one_ticket(backend: str, tmp_path: Path) -> None:
    extra = ["--workers", "2"] if backend == "postgresql" else []
    with deploy(backend, tmp_path, extra=extra) as running:
        token = running.team.tokens["sam"]
        for round_ in range(3):
            key = str(uuid.uuid4())
            subjects = (f"Raced key {round_} A", f"Raced key {round_} B")
            bodies = [{**BODY, "subject": subjects[index % 2]} for index in range(8)]
            answers = at_once(running.server.url, token, bodies, key)
            statuses = {bodies[index]["subject"]: set() for index in range(2)}
            for index, _json, status in answers:
                statuses[bodies[index]["subject"]].add(status)
            assert sorted(map(sorted, statuses.values())) == [[201], [422]], answers
            winner = next(subject for subject, seen in statuses.items() if seen == {201})
            ids = {json["id"] for index, json, status in answers if status == 201}
            assert len(ids) == 1, answers
            with running.team.db.engine.connect() as connection:
                made = connection.execute(
                    text("SELECT subject FROM ticket WHERE subject IN (:a, :b)"), {"a": subjects[0], "b": subjects[1]}
                ).all()
            assert [row[0] for row in made] == [winner]
