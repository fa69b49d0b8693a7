"""A PostgreSQL server's pool pings a connection only when it sat unused (``store/engine.py``,
:func:`ping_when_idle`; pgpush13g): ``pool_pre_ping`` pinged on every checkout, a round trip of
each push's fifteen. What the ping guards against still holds: a connection the database closed
while it sat in the pool is replaced at checkout, not handed to a request; one dropped while in
use costs one request, and the next checkout finds a working connection."""

from __future__ import annotations

import time
from typing import Any

import psycopg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from supportdesk.server.db import ServerDatabase
from supportdesk.store import engine as engines

pytestmark = [pytest.mark.integration, pytest.mark.parametrize("database", ["postgresql"], indirect=True)]


def backend_pid(database: ServerDatabase) -> int:
    with database.engine.connect() as connection:
        return int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())


def terminate(database: ServerDatabase, pid: int) -> None:
    killer = create_engine(database.url)
    try:
        with killer.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
            # wait until PostgreSQL has let the backend go (condition, not a sleep)
            deadline = time.monotonic() + 30
            while other.execute(text("SELECT count(*) FROM pg_stat_activity WHERE pid = :p"), {"p": pid}).scalar():
                assert time.monotonic() < deadline, "the backend did not end"
                other.rollback()
    finally:
        killer.dispose()


@pytest.fixture
def pings(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The pings sent: SQLAlchemy runs its statements on cursors, the ping on the connection."""
    sent: list[str] = []
    execute = psycopg.Connection.execute

    def counted(self: psycopg.Connection[Any], query: Any, *args: Any, **kwargs: Any) -> Any:
        sent.append(str(query))
        return execute(self, query, *args, **kwargs)

    monkeypatch.setattr(psycopg.Connection, "execute", counted)
    return sent


def later(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    """Move the pool's clock on by ``seconds`` (no sleep)."""
    monotonic = time.monotonic
    monkeypatch.setattr(engines.time, "monotonic", lambda: monotonic() + seconds)


def test_a_connection_given_back_a_moment_ago_is_not_pinged(
    database: ServerDatabase, pings: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    backend_pid(database)  # the pool holds one connection now
    for _ in range(5):
        backend_pid(database)
    assert pings == []
    later(monkeypatch, engines.PING_AFTER_IDLE + 1)  # then it sat unused past the limit
    backend_pid(database)
    assert pings == ["SELECT 1"]


def test_an_idle_connection_the_database_closed_is_replaced_at_checkout(
    database: ServerDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = backend_pid(database)  # checked in: the pool keeps this connection
    terminate(database, pid)
    later(monkeypatch, engines.PING_AFTER_IDLE + 1)  # it sat in the pool past the idle limit
    with database.engine.connect() as connection:
        assert connection.execute(text("SELECT 1")).scalar() == 1  # no error: a fresh connection
        assert connection.execute(text("SELECT pg_backend_pid()")).scalar() != pid


def test_a_connection_dropped_while_in_use_costs_one_request(database: ServerDatabase) -> None:
    pid = backend_pid(database)
    terminate(database, pid)  # given back a moment ago: not pinged, so this request meets it
    with pytest.raises(DBAPIError) as failed, database.engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    assert failed.value.connection_invalidated
    # the next request gets a working connection: the dropped one was thrown away
    with database.engine.connect() as connection:
        assert connection.execute(text("SELECT 1")).scalar() == 1
