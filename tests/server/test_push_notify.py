"""On PostgreSQL a push's poke is a NOTIFY sent by the push's own transaction (``announce``, last
before its commit): delivered when, and only if, the push commits, in commit order, saying what
the poke after the commit said — the seq, the range of the push's records and who may see them.
PostgreSQL only (SQLite's one process pokes after the commit)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from supportdesk.protocol import MutationIn, MutationOutcome
from supportdesk.server.apply import Applied, apply_push
from supportdesk.server.db import ServerDatabase
from supportdesk.server.notify import CHANNEL, notify
from supportdesk.store.prepared import run_sql, sent_with_commit
from tests.server.test_push_batch import Pusher, new_ticket

pytestmark = [pytest.mark.integration, pytest.mark.parametrize("database", ["postgresql"], indirect=True)]


@pytest.fixture
def listener(database: ServerDatabase) -> Iterator[psycopg.Connection[Any]]:
    url = database.url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f"LISTEN {CHANNEL}")
        yield connection


def heard(listener: psycopg.Connection[Any]) -> list[dict[str, Any]]:
    """Every event NOTIFYed until a marker sent now arrives (no waiting on a clock)."""
    with listener.cursor() as cursor:
        cursor.execute("SELECT pg_notify(%s, %s)", (CHANNEL, json.dumps({"type": "marker"})))
    events = []
    for notification in listener.notifies(timeout=30):
        event = json.loads(notification.payload)
        if event["type"] == "marker":
            return events
        events.append(event)
    raise AssertionError("the marker never arrived")


def push(
    pusher: Pusher, *mutations: tuple[str, dict[str, Any]], after_write: Any = (), forget: bool = True
) -> list[MutationOutcome]:
    """A push as the route makes it on PostgreSQL: poked from its transaction, and what the
    after-commit hooks gathered forgotten after it (unless ``forget`` is False)."""
    batch = [MutationIn(id=pusher.next_id + n, name=name, args=args) for n, (name, args) in enumerate(mutations)]
    outcomes = apply_push(
        pusher.database,
        pusher.actor,
        "admin-client",
        batch,
        after_write=[*pusher.state.after_write, *after_write],
        after_commit=pusher.state.after_commit,
        announce=pusher.state.events.poke_in_transaction,
    )
    pusher.next_id += len(batch)
    if forget:
        pusher.state.events.forget_gathered()
    return outcomes


def test_a_push_pokes_from_its_own_transaction_as_the_poke_after_commit_did(
    database: ServerDatabase, listener: psycopg.Connection[Any]
) -> None:
    pusher = Pusher(database)
    ticket = new_ticket(pusher)
    heard(listener)
    pusher.state.events.forget_gathered()
    outcomes = push(
        pusher,
        ("ticket.note", {"ticket_id": ticket, "body": "one"}),
        ("ticket.tag", {"ticket_id": ticket, "tags": ["vip"]}),
        forget=False,
    )
    assert all(outcome.ok for outcome in outcomes)
    (event,) = heard(listener)
    ((seq,),) = pusher.rows("SELECT value FROM counter WHERE name = 'seq'")
    logged = pusher.rows("SELECT count(*) FROM change_log WHERE seq > :s", s=event["from"])[0][0]
    ((group, assignee),) = pusher.rows("SELECT group_id, assignee_id FROM ticket WHERE id = :t", t=ticket)
    assert event == {"type": "poke", "seq": seq, "from": seq - logged, "audience": [[group, assignee]]}
    assert event["seq"] == max(outcome.seq for outcome in outcomes)
    # the after-commit poke would have said the same: gathered by the hooks, taken by poke()
    gathered = pusher.state.events
    sent: list[dict[str, Any]] = []
    gathered._publish = sent.append  # type: ignore[method-assign]
    gathered.poke(seq)
    assert json.loads(json.dumps(sent)) == [event]  # as NOTIFY carries it


def test_a_push_that_rolls_back_pokes_nobody_and_the_one_that_commits_once(
    database: ServerDatabase, listener: psycopg.Connection[Any]
) -> None:
    pusher = Pusher(database)
    ticket = new_ticket(pusher)
    heard(listener)

    def fail_after_the_write(_connection: Any, _applied: Applied) -> None:
        raise RuntimeError("the server failed half way")

    with pytest.raises(RuntimeError):
        push(pusher, ("ticket.note", {"ticket_id": ticket, "body": "lost"}), after_write=[fail_after_the_write])
    # nothing of it committed: the client pushes the same id again (next_id did not move)
    assert heard(listener) == [], "a rolled-back push poked"
    (outcome,) = push(pusher, ("ticket.note", {"ticket_id": ticket, "body": "kept"}))
    assert [event["seq"] for event in heard(listener)] == [outcome.seq]


def test_pokes_arrive_in_commit_order_and_a_replay_pokes_nobody(
    database: ServerDatabase, listener: psycopg.Connection[Any]
) -> None:
    pusher = Pusher(database)
    ticket = new_ticket(pusher)
    heard(listener)
    seqs = [push(pusher, ("ticket.note", {"ticket_id": ticket, "body": f"n{n}"}))[0].seq for n in range(5)]
    events = heard(listener)
    assert [event["seq"] for event in events] == seqs == sorted(seqs)
    for before, after in itertools.pairwise(events):
        assert after["from"] == before["seq"], "each poke follows on from the one before"
    pusher.next_id -= 1
    (replayed,) = push(pusher, ("ticket.note", {"ticket_id": ticket, "body": "n4"}))
    assert replayed.replayed and heard(listener) == []


def test_notify_runs_inside_the_callers_transaction(
    database: ServerDatabase, listener: psycopg.Connection[Any]
) -> None:
    heard(listener)
    with database.engine.connect() as connection, connection.begin() as transaction:
        notify(connection, {"type": "poke", "seq": 1})
        transaction.rollback()
    assert heard(listener) == []


def _counters(database: ServerDatabase) -> list[str]:
    with database.engine.connect() as connection:
        return [row[0] for row in connection.execute(text("SELECT name FROM counter WHERE name LIKE 'wire%'"))]


def test_what_goes_with_the_commit_commits_once_and_a_failure_in_it_commits_nothing(
    database: ServerDatabase, listener: psycopg.Connection[Any]
) -> None:
    """:func:`supportdesk.store.prepared.sent_with_commit`: the block's statements and the COMMIT
    in one round trip; SQLAlchemy's own commit after it finds nothing to do. A statement that
    fails in it raises SQLAlchemy's error (as sent one by one) and nothing of the transaction
    commits — the statements before the block neither — and the connection serves again."""
    heard(listener)
    with database.engine.connect() as connection:
        with connection.begin():
            run_sql(connection, "INSERT INTO counter (name, value) VALUES ('wire-before', 1)")
            with sent_with_commit(connection):
                run_sql(connection, "INSERT INTO counter (name, value) VALUES ('wire-in', 1)")
                notify(connection, {"type": "poke", "seq": 1})
        assert sorted(_counters(database)) == ["wire-before", "wire-in"]
        assert [event["seq"] for event in heard(listener)] == [1]
        with pytest.raises(IntegrityError), connection.begin():
            run_sql(connection, "INSERT INTO counter (name, value) VALUES ('wire-lost', 1)")
            with sent_with_commit(connection):
                notify(connection, {"type": "poke", "seq": 2})
                run_sql(connection, "INSERT INTO counter (name, value) VALUES ('seq', 1)")  # taken
        assert "wire-lost" not in _counters(database) and heard(listener) == []
        with connection.begin():
            assert run_sql(connection, "SELECT count(*) FROM counter WHERE name = 'seq'", fetch=True) == [(1,)]
