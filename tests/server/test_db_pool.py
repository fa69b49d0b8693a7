"""A SQLite server keeps its connections in a pool (``server/db.py``), and a pooled connection is
as good as a fresh one.

A fresh connection per write cost ~2 ms of CPU (its first statement parses the whole schema), so
the write and read engines keep theirs. What a fresh connection gave for free, these tests hold
the pool to: every connection in WAL with the pragmas set, one writer at a time, no connection
lent to two threads at once, and a connection that comes back — after an unfinished ``SELECT``,
an error, a changed pragma, a transaction left open — goes out again clean. The first of these
was a real failure: a statement left unfinished kept its read snapshot, and the next ``BEGIN
IMMEDIATE`` on that connection failed with ``SQLITE_BUSY_SNAPSHOT`` (a customer's survey answer
answered 500).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from supportdesk.server.db import PooledSQLite, ServerDatabase, open_database
from supportdesk.store.engine import BUSY_TIMEOUT_MS

WAIT = 30.0


@pytest.fixture
def database(tmp_path: Path) -> Iterator[ServerDatabase]:
    database = open_database(tmp_path / "server.db", migrate=False, pool_size=4)
    with database.engine.connect() as connection, connection.begin():
        connection.execute(text("CREATE TABLE item (id INTEGER PRIMARY KEY, who TEXT NOT NULL)"))
        connection.execute(text("CREATE TABLE counter (n INTEGER NOT NULL)"))
        connection.execute(text("INSERT INTO item (who) VALUES ('a'), ('b'), ('c')"))
        connection.execute(text("INSERT INTO counter VALUES (0)"))
    yield database
    database.dispose()


def driver(connection: Connection) -> sqlite3.Connection:
    raw = connection.connection.dbapi_connection
    assert isinstance(raw, sqlite3.Connection)
    return raw


def count(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT count(*) FROM item")).scalar_one())


def write_elsewhere(database: ServerDatabase, who: str) -> None:
    """A write on another pooled connection (checked out while the caller holds its own)."""
    with database.engine.connect() as connection, connection.begin():
        connection.execute(text("INSERT INTO item (who) VALUES (:who)"), {"who": who})


def test_a_write_takes_the_connection_of_the_write_before(database: ServerDatabase) -> None:
    with database.engine.connect() as first:
        raw = driver(first)
    with database.engine.connect() as second:
        assert driver(second) is raw, "a write opened a fresh connection (and parsed the schema again)"
    assert isinstance(raw, PooledSQLite)


def test_a_select_left_unfinished_does_not_hold_its_snapshot_into_the_next_write(database: ServerDatabase) -> None:
    unfinished = database.engine.connect()
    rows = unfinished.execute(text("SELECT who FROM item ORDER BY id"))
    assert rows.fetchone() is not None  # two rows left unread: the statement stays open
    unfinished.rollback()  # the transaction ends (and its turn); the statement does not
    raw = driver(unfinished)
    write_elsewhere(database, "d")  # another connection moves the database on
    unfinished.close()  # back to the pool, the last one in: the next write takes it
    with database.engine.connect() as connection:
        assert driver(connection) is raw
        with connection.begin():  # BEGIN IMMEDIATE from the old snapshot was SQLITE_BUSY_SNAPSHOT
            connection.execute(text("INSERT INTO item (who) VALUES ('e')"))
    assert count(database.engine) == 5
    del rows


def test_a_select_left_unfinished_on_the_driver_connection_itself_is_finished_too(database: ServerDatabase) -> None:
    """``sqlite3.Connection.execute`` makes its cursor without calling ``cursor()``: code that runs
    a statement straight on the driver connection (the rollup's paused trigger, a raw fast
    path) must not leave a snapshot behind either."""
    unfinished = database.engine.connect()
    raw = driver(unfinished)
    rows = raw.execute("SELECT who FROM item ORDER BY id")
    assert rows.fetchone() is not None  # rows left unread: the statement stays open
    unfinished.rollback()
    write_elsewhere(database, "d")
    unfinished.close()
    with database.engine.connect() as connection:
        assert driver(connection) is raw
        with connection.begin():
            connection.execute(text("INSERT INTO item (who) VALUES ('e')"))
    assert count(database.engine) == 5
    del rows


def test_a_reader_left_with_an_unfinished_select_reads_the_latest_writes(database: ServerDatabase) -> None:
    reading = database.read_engine.connect()
    rows = reading.execute(text("SELECT who FROM item ORDER BY id"))
    assert rows.fetchone() is not None
    raw = driver(reading)
    reading.close()
    write_elsewhere(database, "d")
    with database.read_engine.connect() as connection:
        assert driver(connection) is raw
        assert connection.execute(text("SELECT count(*) FROM item")).scalar_one() == 4, "read an old snapshot"
    del rows


def pragmas(raw: sqlite3.Connection) -> dict[str, int | str]:
    names = ("journal_mode", "foreign_keys", "secure_delete", "busy_timeout", "synchronous", "query_only")
    return {name: raw.execute(f"PRAGMA {name}").fetchone()[0] for name in names}


WRITER = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "secure_delete": 1,
    "busy_timeout": BUSY_TIMEOUT_MS,
    "synchronous": 1,
    "query_only": 0,
}


def test_every_pooled_connection_has_wal_and_the_pragmas_even_past_the_pool_size(database: ServerDatabase) -> None:
    held = [database.engine.connect() for _ in range(6)]  # 4 pooled and 2 more
    try:
        assert len({id(driver(connection)) for connection in held}) == 6
        for connection in held:
            assert pragmas(driver(connection)) == WRITER
    finally:
        for connection in held:
            connection.close()
    with database.read_engine.connect() as reading:
        assert pragmas(driver(reading)) == {**WRITER, "query_only": 1}


@pytest.mark.parametrize("engine_name", ["engine", "read_engine"])
def test_a_pragma_a_caller_changed_is_set_again_before_the_connection_is_lent_again(
    database: ServerDatabase, engine_name: str
) -> None:
    engine: Engine = getattr(database, engine_name)
    with engine.connect() as connection:
        raw = driver(connection)
        expected = pragmas(raw)
        connection.rollback()
        for pragma in ("foreign_keys=OFF", "secure_delete=OFF", "busy_timeout=1", "synchronous=OFF", "query_only=OFF"):
            raw.execute(f"PRAGMA {pragma}")
        assert pragmas(raw) != expected
    with engine.connect() as connection:
        assert driver(connection) is raw
        assert pragmas(raw) == expected


@pytest.mark.parametrize("engine_name", ["engine", "read_engine"])
def test_a_connection_that_comes_back_unchanged_keeps_its_prepared_statements(
    database: ServerDatabase, engine_name: str
) -> None:
    # Setting a flag pragma (foreign_keys, query_only) expires every prepared statement, even to
    # the value it has: a check-in that set them again made the next write compile all of its
    # statements (and the triggers inside them) afresh. SQLite's authorizer is called only while
    # a statement is compiled, so it counts the compilations.
    engine: Engine = getattr(database, engine_name)
    compiled: list[tuple[object, ...]] = []

    def note(*action: object) -> int:
        compiled.append(action)
        return sqlite3.SQLITE_OK

    with engine.connect() as connection:
        raw = driver(connection)
        raw.set_authorizer(note)  # setting it expires the statements once
    for _ in range(2):
        with engine.connect() as connection:
            assert driver(connection) is raw
            assert raw.execute("SELECT count(*) FROM item").fetchall() == [(3,)]
    compiled.clear()
    with engine.connect() as connection:
        assert driver(connection) is raw
        assert raw.execute("SELECT count(*) FROM item").fetchall() == [(3,)]
    # (reading a pragma's value compiles a small PRAGMA statement inside SQLite each time)
    again = [action for action in compiled if action[0] != sqlite3.SQLITE_PRAGMA]
    assert again == [], "the statement was compiled again after a clean check-in"
    raw.set_authorizer(None)
    with engine.connect() as connection:  # a changed pragma is still set again (test above)
        raw.execute("PRAGMA foreign_keys=OFF")
    assert raw.execute("PRAGMA foreign_keys").fetchone() == (1,)


def test_a_transaction_that_failed_goes_back_rolled_back_and_gives_its_turn_back(database: ServerDatabase) -> None:
    with database.engine.connect() as connection:
        raw = driver(connection)
        connection.begin()
        connection.execute(text("INSERT INTO item (who) VALUES ('half')"))
        with pytest.raises(IntegrityError):
            connection.execute(text("INSERT INTO item (who) VALUES (NULL)"))
        # closed without a rollback
    other = threading.Thread(target=write_elsewhere, args=(database, "other"))
    other.start()
    other.join(WAIT)
    assert not other.is_alive(), "the failed writer kept its turn"
    with database.engine.connect() as connection:
        assert driver(connection) is raw
        assert not raw.in_transaction
        assert connection.execute(text("SELECT who FROM item WHERE who IN ('half', 'other')")).scalars().all() == [
            "other"
        ]


def test_a_transaction_begun_on_the_driver_and_left_open_is_rolled_back(database: ServerDatabase) -> None:
    with database.engine.connect() as connection:
        raw = driver(connection)
        raw.execute("BEGIN IMMEDIATE")
        raw.execute("INSERT INTO item (who) VALUES ('behind its back')")
    assert not raw.in_transaction
    assert count(database.engine) == 3


def test_two_threads_never_hold_the_same_connection_and_writers_take_turns(database: ServerDatabase) -> None:
    holding = threading.Event()
    release = threading.Event()
    seen: dict[str, object] = {}

    def first() -> None:
        with database.engine.connect() as connection, connection.begin():
            seen["first"] = driver(connection)
            connection.execute(text("INSERT INTO item (who) VALUES ('uncommitted')"))
            holding.set()
            release.wait(WAIT)

    def second() -> None:
        holding.wait(WAIT)
        with database.engine.connect() as connection:
            seen["second"] = driver(connection)
            with connection.begin():  # waits for the first writer's turn to end
                seen["saw"] = connection.execute(text("SELECT count(*) FROM item")).scalar_one()
                connection.execute(text("INSERT INTO item (who) VALUES ('second')"))

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    assert holding.wait(WAIT)
    with database.read_engine.connect() as reading:  # a reader never sees the open transaction
        assert reading.execute(text("SELECT count(*) FROM item")).scalar_one() == 3
    release.set()
    for thread in threads:
        thread.join(WAIT)
    assert seen["first"] is not seen["second"]
    assert seen["saw"] == 4  # the second began after the first committed
    assert count(database.engine) == 5


def test_read_modify_writes_from_many_threads_lose_nothing(database: ServerDatabase) -> None:
    errors: list[BaseException] = []

    def bump() -> None:
        try:
            for _ in range(20):
                with database.engine.connect() as connection, connection.begin():
                    n = connection.execute(text("SELECT n FROM counter")).scalar_one()
                    connection.execute(text("UPDATE counter SET n = :n"), {"n": n + 1})
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=bump) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    assert errors == []
    with database.engine.connect() as connection:
        assert connection.execute(text("SELECT n FROM counter")).scalar_one() == 120
