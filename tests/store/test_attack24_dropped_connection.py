"""attack24 on ``store.engine.dropped_connection`` with a real PostgreSQL: an ordinary error — a
statement timeout (57014), a serialization failure (40001), a deadlock (40P01), a lock not
available (55P03), a unique violation (23505), out of memory (53200) — leaves the connection in
the pool (the same backend serves the next checkout: no connection thrown away, none leaked),
and a session the server ended while it idled in a transaction (25P03, an InternalError the hook
does not judge) is still thrown away, by the dialect. (Found nothing; kept as a regression test.)
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from supportdesk.server.db import open_database
from tests.live import fresh_postgres_database

pytestmark = [pytest.mark.integration]


@pytest.fixture
def engine() -> Iterator[Engine]:
    with fresh_postgres_database() as url:
        database = open_database(url)
        try:
            yield database.engine
        finally:
            database.dispose()


def _pid(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())


@pytest.mark.parametrize("state", ["40001", "40P01", "55P03", "23505", "53200"])
def test_attack24_an_ordinary_error_keeps_the_pooled_connection(engine: Engine, state: str) -> None:
    pid = _pid(engine)
    with engine.connect() as connection, pytest.raises(DBAPIError) as raised:
        connection.execute(text(f"DO $$ BEGIN RAISE EXCEPTION 'attack24' USING ERRCODE = '{state}'; END $$"))
    assert getattr(raised.value.orig, "sqlstate", None) == state
    assert not raised.value.connection_invalidated
    assert _pid(engine) == pid


def test_attack24_a_statement_timeout_keeps_the_pooled_connection(engine: Engine) -> None:
    pid = _pid(engine)
    with engine.connect() as connection, pytest.raises(DBAPIError) as raised:
        connection.execute(text("SET LOCAL statement_timeout = '50ms'"))
        connection.execute(text("SELECT pg_sleep(5)"))
    assert getattr(raised.value.orig, "sqlstate", None) == "57014"
    assert not raised.value.connection_invalidated
    assert _pid(engine) == pid


def test_attack24_a_session_ended_idle_in_transaction_is_not_handed_out_again(engine: Engine) -> None:
    with engine.connect() as connection:
        pid = int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())
        connection.execute(text("SET LOCAL idle_in_transaction_session_timeout = '100ms'"))
        deadline = time.monotonic() + 30
        with pytest.raises(DBAPIError) as raised:
            while time.monotonic() < deadline:  # until the server has ended the session
                time.sleep(0.2)
                connection.execute(text("SELECT 1"))
        assert raised.value.connection_invalidated, raised.value
    assert _pid(engine) != pid
    assert _pid(engine) == _pid(engine)
