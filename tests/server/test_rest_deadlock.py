"""A REST write that PostgreSQL aborts to break a deadlock with a push runs again on the server:
the integration gets its 2xx, and exactly one ticket or change, one audited write and one
webhook delivery exist (:mod:`supportdesk.server.retry`).

The deadlock is made deterministic, with the REST write as the victim. The push (in this
process, through :func:`apply_push` on the same database, with the server's own hooks) adds a
note to another ticket, which records a webhook event and so holds the ``webhook_event``
counter. The REST write (a real request to a real server) then takes its ticket's lock — the
ticket number counter for a create, the ticket's row for a ``PATCH`` — and blocks on that
counter when it records its own event. Only once PostgreSQL shows it blocked by the push does
the push reach for the lock the REST write holds. The REST write waited first, so its deadlock
check runs first and finds the cycle (the push's session waits a minute before checking): it is
the one aborted.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from supportdesk.protocol import MutationIn, MutationOutcome
from supportdesk.server.apply import apply_push
from supportdesk.server.db import ServerDatabase
from tests.live import LOADED_MACHINE_TIMEOUT, Deployment, deploy, free_port
from tests.server.test_push_batch import Pusher, new_ticket

pytestmark = pytest.mark.integration

#: The server's sessions check for a deadlock after 5 s of waiting (PostgreSQL's default is
#: 1 s): time enough for the push, on a loaded machine, to reach its lock before the REST
#: write's one check; the push's session checks after a minute, so it is never the one aborted.
SERVER_DEADLOCK_TIMEOUT = "5s"


@pytest.fixture
def crossing(tmp_path: Path) -> Iterator[Deployment]:
    env = {"PGOPTIONS": f"-c deadlock_timeout={SERVER_DEADLOCK_TIMEOUT}"}
    with deploy("postgresql", tmp_path, env=env) as running:
        with running.api("ada") as admin:
            hook = {
                # nobody listens there: the deliveries stay in the table, to be counted
                "url": f"http://127.0.0.1:{free_port()}/hook",
                "events": ["ticket.created", "ticket.updated", "message.created"],
            }
            assert admin.post("/v1/admin/webhooks", json=hook).status_code == 201
        yield running


class CrossingPush:
    """A push of two notes (or a note and a new ticket) whose second mutation waits until the
    REST write is blocked by the push, then reaches for what the REST write holds."""

    def __init__(self, database: ServerDatabase) -> None:
        self.database = database
        self.pusher = Pusher(database)
        self.holds = threading.Event()  # the push holds the webhook counter: send the REST write
        self.second_runs = 0
        self.outcomes: list[MutationOutcome] = []
        self.errors: list[BaseException] = []

    def blocked_by(self, pid: int) -> bool:
        with self.database.engine.connect() as probe:
            found = probe.execute(
                text("SELECT count(*) FROM pg_stat_activity WHERE :p = ANY(pg_blocking_pids(pid))"), {"p": pid}
            ).scalar_one()
        return int(found) > 0

    def check(self, connection: Any, _actor: Any, _name: str, args: dict[str, Any]) -> dict[str, Any]:
        if args.get("body") == "push-1":
            connection.execute(text("SET LOCAL deadlock_timeout = '60s'"))
        if args.get("body") == "push-2":
            self.second_runs += 1
            if self.second_runs == 1:
                pid = int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())
                self.holds.set()
                deadline = time.monotonic() + LOADED_MACHINE_TIMEOUT
                while not self.blocked_by(pid):
                    if time.monotonic() > deadline:
                        raise AssertionError("the REST write never waited for the push's lock")
                    time.sleep(0.01)
        return args

    def run(self, other_ticket: str, second: MutationIn) -> threading.Thread:
        state = self.pusher.state
        batch = [MutationIn(id=1, name="ticket.note", args={"ticket_id": other_ticket, "body": "push-1"}), second]

        def push() -> None:
            try:
                self.outcomes = apply_push(
                    self.database,
                    self.pusher.actor,
                    "crossing",
                    batch,
                    before_write=[*state.before_write, self.check],
                    after_write=state.after_write,
                    after_commit=state.after_commit,
                )
            except BaseException as error:
                self.errors.append(error)

        thread = threading.Thread(target=push)
        thread.start()
        assert self.holds.wait(LOADED_MACHINE_TIMEOUT), self.errors
        return thread

    def landed(self, thread: threading.Thread) -> None:
        thread.join(LOADED_MACHINE_TIMEOUT)
        assert not self.errors, self.errors
        assert [outcome.ok for outcome in self.outcomes] == [True, True], self.outcomes
        assert self.second_runs == 1, "the push was aborted: the REST write was not the victim"


def count(database: ServerDatabase, sql: str, **params: Any) -> int:
    with database.engine.connect() as connection:
        return int(connection.execute(text(sql), params).scalar_one())


def test_a_create_aborted_by_a_deadlock_is_run_again(crossing: Deployment) -> None:
    database = crossing.team.db
    push = CrossingPush(database)
    other = new_ticket(push.pusher)
    new = {"subject": "pushed", "body": "push-2", "requester": {"value": "p@example.com"}}
    second = MutationIn(id=2, name="ticket.create", args=new)
    thread = push.run(other, second)  # holds the webhook counter; will want the ticket number
    key = {"Idempotency-Key": str(uuid.uuid4())}
    body = {"subject": "From the shop", "body": "Payment failed", "requester": {"email": "shop@example.com"}}
    with crossing.api("sam") as client:
        answer = client.post("/v1/tickets", json=body, headers=key)
        assert answer.status_code == 201, answer.text
        push.landed(thread)
        created = answer.json()
        replayed = client.post("/v1/tickets", json=body, headers=key)
        assert replayed.status_code == 201 and replayed.headers["Idempotent-Replayed"] == "true"
        assert replayed.json() == created

    assert count(database, "SELECT count(*) FROM ticket WHERE subject = 'From the shop'") == 1
    assert count(database, "SELECT count(*) FROM ticket WHERE subject = 'pushed'") == 1
    # one write in the audit (one reference), nothing of the aborted attempt
    writes = "SELECT count(DISTINCT mutation_ref) FROM audit_event WHERE mutation_ref LIKE 'api:%'"
    assert count(database, writes) == 1
    assert count(database, "SELECT count(*) FROM audit_event WHERE entity_id = :t", t=created["id"]) >= 1
    twice = (
        "SELECT count(*) FROM (SELECT field FROM audit_event WHERE entity_id = :t "
        "GROUP BY field, mutation HAVING count(*) > 1) AS doubled"
    )
    assert count(database, twice, t=created["id"]) == 0
    deliveries = (
        "SELECT count(*) FROM webhook_delivery d JOIN webhook_event e ON e.id = d.event_id "
        "WHERE e.ticket_id = :t AND e.type = 'ticket.created'"
    )
    assert count(database, deliveries, t=created["id"]) == 1
    assert count(database, "SELECT count(*) FROM api_idempotency WHERE key = :k", k=key["Idempotency-Key"]) == 1


def test_a_patch_aborted_by_a_deadlock_is_run_again(crossing: Deployment) -> None:
    database = crossing.team.db
    push = CrossingPush(database)
    other, patched = new_ticket(push.pusher), new_ticket(push.pusher, "Patched")
    number = count(database, "SELECT number FROM ticket WHERE id = :t", t=patched)
    second = MutationIn(id=2, name="ticket.note", args={"ticket_id": patched, "body": "push-2"})
    thread = push.run(other, second)  # holds the webhook counter; will want the patched ticket
    with crossing.api("ada") as client:
        answer = client.patch(f"/v1/tickets/{number}", json={"priority": "urgent"})
        assert answer.status_code == 200, answer.text
        push.landed(thread)
    assert answer.json()["priority"] == "urgent"

    changes = "SELECT count(*) FROM audit_event WHERE entity_id = :t AND mutation_ref LIKE 'api:%'"
    assert count(database, changes, t=patched) == 1
    notes = "SELECT count(*) FROM message WHERE ticket_id = :t AND body = 'push-2'"
    assert count(database, notes, t=patched) == 1
    deliveries = (
        "SELECT count(*) FROM webhook_delivery d JOIN webhook_event e ON e.id = d.event_id "
        "WHERE e.ticket_id = :t AND e.type = 'ticket.updated'"
    )
    assert count(database, deliveries, t=patched) == 1
