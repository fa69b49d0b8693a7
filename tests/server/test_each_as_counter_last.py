"""The server's batched writes (``apply_each_as``: triage of new tickets) lock the seq counter
last, as a push does (DESIGN.md). Taken after each mutation, the counter stayed locked while the
batch went on to lock its next tickets, and a push that had locked one of them deadlocked with
it on the counter: PostgreSQL broke that only after ``deadlock_timeout`` (1 s), so a push of one
stalled about a second after every burst of new tickets (bench/sync_push.py's first pushes).
PostgreSQL only (SQLite has one writer)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from sqlalchemy import text

from supportdesk.domain.context import SYSTEM
from supportdesk.server.apply import Applied, apply_as, apply_each_as
from supportdesk.server.db import ServerDatabase

pytestmark = [pytest.mark.integration, pytest.mark.parametrize("database", ["postgresql"], indirect=True)]


def _ticket(database: ServerDatabase, n: int) -> str:
    args = {"subject": f"Burst {n}", "body": "b", "requester": {"value": f"burst{n}@example.com"}}
    return str(apply_as(database, SYSTEM, "ticket.create", args)[0]["ticket_id"])


def _waiting_on_a_lock(database: ServerDatabase) -> int:
    with database.read_engine.connect() as connection:
        return int(
            connection.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            ).scalar_one()
        )


def test_a_batch_takes_the_counter_after_its_last_mutation(database: ServerDatabase) -> None:
    first, second = _ticket(database, 1), _ticket(database, 2)
    pokes: list[int] = []
    done: list[list[Applied]] = []
    errors: list[BaseException] = []
    each = [{"ticket_id": ticket, "priority": "high"} for ticket in (first, second)]

    def batch() -> None:
        try:
            done.append(apply_each_as(database, SYSTEM, "ticket.set_priority", each, poke=pokes.append))
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    with database.engine.connect() as push, push.begin():
        # a push holds the second ticket, as its note's write does until its commit ...
        push.execute(text("UPDATE ticket SET updated_at = updated_at WHERE id = :t"), {"t": second})
        worker = threading.Thread(target=batch)
        worker.start()
        deadline = time.monotonic() + 20
        while _waiting_on_a_lock(database) == 0:  # the batch wrote the first ticket, waits on the second
            assert time.monotonic() < deadline, "the batch never reached the second ticket"
            time.sleep(0.01)
        # ... and then takes its seqs: the counter must be free (before, the batch held it since
        # its first mutation: a deadlock, broken only after deadlock_timeout). Waiting at all
        # fails here, well before PostgreSQL's deadlock check would step in.
        push.execute(text("SET LOCAL lock_timeout = '200ms'"))
        push.execute(text("UPDATE counter SET value = value + 1 WHERE name = 'seq' RETURNING value")).scalar_one()
        push.rollback()
    worker.join(30)

    assert not errors and len(done) == 1
    assert [applied.error for applied in done[0]] == [None, None]
    with database.read_engine.connect() as connection:
        logged: list[Any] = connection.execute(
            text("SELECT seq, entity_id FROM change_log WHERE entity = 'ticket' ORDER BY seq")
        ).all()
        end = connection.execute(text("SELECT value FROM counter WHERE name = 'seq'")).scalar_one()
    # both tickets' records after their creates, on consecutive seqs ending at the counter
    assert [row[1] for row in logged[-2:]] == [first, second]
    assert [row[0] for row in logged[-2:]] == [end - 1, end]
    assert pokes == [end]
