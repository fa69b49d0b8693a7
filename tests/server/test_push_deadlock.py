"""The deadlock retries (PostgreSQL): two pushes that change the same two
tickets in opposite orders deadlock; the one PostgreSQL aborts runs again, and every mutation of
both lands exactly once."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from supportdesk.protocol import MutationIn, MutationOutcome
from supportdesk.server import admin
from supportdesk.server.apply import apply_push
from supportdesk.server.db import ServerDatabase
from supportdesk.server.tokens import load_actor
from tests.server.test_push_batch import Pusher, new_ticket

pytestmark = [pytest.mark.integration, pytest.mark.parametrize("database", ["postgresql"], indirect=True)]


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


def test_a_server_write_aborted_by_a_deadlock_runs_again(database: ServerDatabase) -> None:
    """An inbound mail or a webhook (``apply_as``) that PostgreSQL picks as a deadlock's victim
    against a push is run again, not answered with an error: nothing of it had committed."""
    from sqlalchemy import text

    from supportdesk.domain.context import SYSTEM
    from supportdesk.server.apply import apply_as

    pusher = Pusher(database)
    first, second = new_ticket(pusher), new_ticket(pusher)
    met = threading.Barrier(2, timeout=20)
    server_pid: list[int] = []
    server_attempts = [0]

    def server_then_first(connection: Any, _applied: Any) -> None:
        server_attempts[0] += 1
        if server_attempts[0] == 1:  # holds the second ticket; now reaches for the first
            server_pid.append(int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one()))
            met.wait()
        connection.execute(text("UPDATE ticket SET updated_at = updated_at WHERE id = :t"), {"t": first})

    def blocked(pid: int) -> bool:
        with database.engine.connect() as probe:
            found = probe.execute(text("SELECT cardinality(pg_blocking_pids(:p))"), {"p": pid}).scalar_one()
        return int(found) > 0

    push_attempts = [0]

    def push_waits_for_the_server(_connection: Any, _actor: Any, _name: str, args: dict[str, Any]) -> dict[str, Any]:
        if args.get("body") == "push-2":
            push_attempts[0] += 1
            if push_attempts[0] == 1:  # the server's write is blocked on our first ticket first
                met.wait()
                wait_until = threading.Event()
                for _ in range(2000):
                    if blocked(server_pid[0]):
                        break
                    wait_until.wait(0.01)
                else:
                    raise AssertionError("the server's write never waited for the push's lock")
        return args

    errors: list[BaseException] = []

    def server_note() -> None:
        try:
            apply_as(database, SYSTEM, "ticket.note", {"ticket_id": second, "body": "server"},
                     after_write=[server_then_first])  # fmt: skip
        except BaseException as error:
            errors.append(error)

    def push() -> None:
        batch = [
            MutationIn(id=1, name="ticket.note", args={"ticket_id": first, "body": "push-1"}),
            MutationIn(id=2, name="ticket.note", args={"ticket_id": second, "body": "push-2"}),
        ]
        try:
            apply_push(database, pusher.actor, "crossing", batch, before_write=[push_waits_for_the_server])
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=push), threading.Thread(target=server_note)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    assert server_attempts[0] >= 2, "PostgreSQL aborted neither write"  # it blocked first: the victim
    bodies = sorted(
        row[0] for row in pusher.rows("SELECT body FROM message WHERE body IN ('push-1', 'push-2', 'server')")
    )
    assert bodies == ["push-1", "push-2", "server"]
