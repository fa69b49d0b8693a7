"""Review of the deadlock retry of ``apply_push`` (PostgreSQL): two pushes that change the same two
tickets in opposite orders deadlock; the one PostgreSQL aborts runs again, and every mutation of
both lands exactly once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from supportdesk.protocol import MutationIn, MutationOutcome
from supportdesk.server import admin
from supportdesk.server.apply import apply_push
from supportdesk.server.db import ServerDatabase, open_database
from supportdesk.server.tokens import load_actor
from tests.live import server_database
from tests.server.test_push_batch import Pusher, new_ticket

pytestmark = pytest.mark.integration


@pytest.fixture
def database(tmp_path: Path) -> Iterator[ServerDatabase]:
    with server_database("postgresql", tmp_path) as url:
        opened = open_database(url)
        try:
            yield opened
        finally:
            opened.dispose()


def test_two_pushes_that_deadlock_both_land_once(database: ServerDatabase) -> None:
    pusher = Pusher(database)
    first, second = new_ticket(pusher), new_ticket(pusher)
    other = admin.add_agent(database, "Bo", "bo@example.com", "admin", [])
    with database.engine.connect() as connection:
        bo = load_actor(connection, other)
    assert bo is not None
    met = threading.Barrier(2, timeout=20)
    attempts: dict[str, int] = {"ada": 0, "bo": 0}

    def meet_once(who: str) -> Any:
        def check(_connection: Any, _actor: Any, _name: str, args: dict[str, Any]) -> dict[str, Any]:
            if args.get("body", "").endswith("-2"):
                attempts[who] += 1
                if attempts[who] == 1:
                    met.wait()  # both hold their first ticket: the second mutations cross
            return args

        return check

    results: dict[str, list[MutationOutcome]] = {}
    errors: list[BaseException] = []

    def push(who: str, actor: Any, client: str, tickets: tuple[str, str]) -> None:
        batch = [
            MutationIn(id=1, name="ticket.note", args={"ticket_id": tickets[0], "body": f"{who}-1"}),
            MutationIn(id=2, name="ticket.note", args={"ticket_id": tickets[1], "body": f"{who}-2"}),
        ]
        try:
            results[who] = apply_push(database, actor, client, batch, before_write=[meet_once(who)])
        except BaseException as error:
            errors.append(error)

    threads = [
        threading.Thread(target=push, args=("ada", pusher.actor, "ada-2", (first, second))),
        threading.Thread(target=push, args=("bo", bo, "bo-2", (second, first))),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    assert all(o.ok for outcomes in results.values() for o in outcomes), results
    assert max(attempts.values()) == 2  # one of them was aborted and ran again
    bodies = sorted(row[0] for row in pusher.rows("SELECT body FROM message WHERE body LIKE '%-_'"))
    assert bodies == ["ada-1", "ada-2", "bo-1", "bo-2"]
