"""Attack on the push's statements on the driver's cursor (issue 19; attack19): PostgreSQL drops
the push's connection half way (a failover, an admin's pg_terminate_backend). SQLAlchemy's own
error handling must still see it: the connection is thrown away, not handed to the next push,
nothing of the push stays, and the client's next attempt of the same ids succeeds."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from supportdesk.domain.context import Actor
from supportdesk.server.db import ServerDatabase
from tests.server.test_push_batch import Pusher, new_ticket

pytestmark = [pytest.mark.integration, pytest.mark.parametrize("database", ["postgresql"], indirect=True)]


@pytest.mark.parametrize("at", [1, 2, 3])
def test_a_connection_dropped_mid_push_is_thrown_away_and_the_push_runs_again(
    database: ServerDatabase, at: int
) -> None:
    pusher = Pusher(database)
    ticket = new_ticket(pusher)
    killer = create_engine(database.url)
    seen = [0]

    def drop_connection(connection: Any, actor: Actor, name: str, args: dict[str, Any]) -> dict[str, Any]:
        seen[0] += 1
        if seen[0] == at:
            pid = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()
            with killer.connect() as other:
                other.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
        return args

    pusher.state.before_write.append(drop_connection)
    batch = [
        ("ticket.note", {"ticket_id": ticket, "body": "one"}),
        ("ticket.tag", {"ticket_id": ticket, "tags": ["vip"]}),
        ("ticket.note", {"ticket_id": ticket, "body": "two"}),
    ]
    try:
        outcomes = pusher.push(*batch)
    except Exception as error:  # the push failed: the client sends the same ids again
        # the error that dropped it, as SQLAlchemy wraps a disconnect: what the server logs and
        # what an operator reads — not a PendingRollbackError raised over it by the push's own
        # clean-up asking the dead connection for its ``info``
        assert isinstance(error, DBAPIError) and error.connection_invalidated, repr(error)
        pusher.next_id -= len(batch)
        assert pusher.rows("SELECT count(*) FROM message WHERE ticket_id = :t", t=ticket) == [(1,)]
        outcomes = pusher.push(*batch)
    finally:
        pusher.state.before_write.remove(drop_connection)
        killer.dispose()
    assert [o.ok for o in outcomes] == [True, True, True]
    assert pusher.rows("SELECT count(*) FROM message WHERE ticket_id = :t", t=ticket) == [(3,)]
    # every pooled connection works: the dropped one was not given back to the pool
    for _ in range(12):
        assert pusher.push(("ticket.note", {"ticket_id": ticket, "body": "more"}))[0].ok
    trail = pusher.rows(
        "SELECT field FROM audit_event WHERE entity_id = :t AND field LIKE 'message.%' ORDER BY id", t=ticket
    )
    assert len(trail) == 3 + 12


def test_a_statement_refused_on_a_connection_still_marked_good_throws_the_connection_away(
    database: ServerDatabase,
) -> None:
    """The state CI met once: libpq holds a result the caller never read (there, the server's
    FATAL goodbye, read while idle before the closed socket was seen), so the next statement is
    refused client-side — "sending query failed: … another command is already in progress" — on
    a connection psycopg still calls good. SQLAlchemy's own check (``broken``) kept such a
    connection; the engine's ``handle_error`` hook must treat it as the disconnect it is."""
    with database.engine.connect() as connection:
        connection.exec_driver_sql("SELECT 1")
        raw: Any = connection.connection.dbapi_connection
        raw.pgconn.send_query(b"SELECT 1")  # a result left pending on the driver's connection
        assert not raw.broken
        with pytest.raises(DBAPIError) as refused:
            connection.exec_driver_sql("SAVEPOINT server_mutation")
        assert refused.value.connection_invalidated, repr(refused.value)
        assert "another command is already in progress" in str(refused.value.orig)
    # the pool lends working connections afterwards
    with database.engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT 2").scalar() == 2


def test_a_statement_libpq_refuses_before_sending_keeps_the_connection(database: ServerDatabase) -> None:
    """Too many parameters is refused by libpq itself (an OperationalError without a SQLSTATE,
    like a dropped connection's): the connection is fine and must not be thrown away, nor the
    pool's others with it (review of the twelfth session)."""
    with database.engine.connect() as connection:
        before = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    names = [f"p{n}" for n in range(70_000)]
    with database.engine.connect() as connection:
        with pytest.raises(DBAPIError) as refused:
            connection.execute(
                text(f"SELECT 1 WHERE 1 IN ({', '.join(':' + n for n in names)})"), dict.fromkeys(names, 1)
            )
        assert not refused.value.connection_invalidated, repr(refused.value)
    with database.engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT pg_backend_pid()").scalar() == before
