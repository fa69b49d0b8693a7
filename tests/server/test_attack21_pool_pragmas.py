"""attack21: a pooled SQLite connection goes back to its pool as a fresh one would be, whatever
the request that borrowed it left behind — now that the check-in sets the pragmas again only when
a read of them shows a change (server/db.py, ``_keep_pooled_connections_clean``).

Each test borrows the one pooled connection (LIFO: the next request gets it back), changes a
setting and fails mid-way, and asserts the next borrower sees every setting a fresh connection has.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from supportdesk.server.db import ServerDatabase, open_database

SETTINGS = ("foreign_keys", "query_only", "synchronous", "secure_delete", "busy_timeout", "temp_store", "cache_size")


@pytest.fixture
def database(tmp_path: Path) -> Iterator[ServerDatabase]:
    opened = open_database(tmp_path / "server.db", pool_size=1)
    try:
        yield opened
    finally:
        opened.dispose()


def settings(engine: Engine) -> tuple[dict[str, object], int]:
    with engine.connect() as connection:
        raw = connection.connection.driver_connection
        assert isinstance(raw, sqlite3.Connection)
        values = {name: raw.execute(f"PRAGMA {name}").fetchone()[0] for name in SETTINGS}
        return values, id(raw)


class Boom(Exception):
    pass


def fail_after(engine: Engine, *statements: str, in_transaction: bool = False) -> int:
    """Borrow a connection, run ``statements`` on its driver connection, fail."""
    with pytest.raises(Boom), engine.connect() as connection:
        raw = connection.connection.driver_connection
        assert isinstance(raw, sqlite3.Connection)
        if in_transaction:
            connection.begin()
            connection.execute(text("SELECT 1"))
        for statement in statements:
            raw.execute(statement)
        borrowed = id(raw)
        raise Boom
    return borrowed


CHANGES = {
    "foreign_keys": "PRAGMA foreign_keys=OFF",
    "query_only": "PRAGMA query_only=ON",
    "synchronous": "PRAGMA synchronous=OFF",
    "secure_delete": "PRAGMA secure_delete=OFF",
    "busy_timeout": "PRAGMA busy_timeout=0",
    "temp_store": "PRAGMA temp_store=FILE",
    "cache_size": "PRAGMA cache_size=10",
}


@pytest.mark.parametrize("name", sorted(CHANGES))
@pytest.mark.parametrize("which", ["write", "read"])
def test_attack21_a_failed_request_leaves_no_setting_to_the_next(
    database: ServerDatabase, name: str, which: str
) -> None:
    engine = database.engine if which == "write" else database.read_engine
    fresh, first = settings(engine)
    for _ in range(2):  # the second time the check-in compares instead of setting
        borrowed = fail_after(engine, CHANGES[name])
        after, again = settings(engine)
        assert borrowed == first == again, "the same pooled connection"
        assert after == fresh, f"{name} left by a failed request"


def test_attack21_the_read_engine_stays_read_only_and_the_write_engine_writable(database: ServerDatabase) -> None:
    fail_after(database.read_engine, "PRAGMA query_only=OFF")
    with pytest.raises(Exception, match="readonly"), database.read_engine.begin() as connection:
        connection.execute(text("CREATE TABLE attack21 (x)"))
    fail_after(database.engine, "PRAGMA query_only=ON")
    with database.engine.begin() as connection:
        connection.execute(text("CREATE TABLE attack21 (x)"))


def test_attack21_foreign_keys_are_enforced_after_a_failed_transaction(database: ServerDatabase) -> None:
    """``PRAGMA foreign_keys`` is a no-op inside a transaction; ``defer_foreign_keys`` ends with it."""
    fail_after(database.engine, "PRAGMA defer_foreign_keys=ON", "PRAGMA foreign_keys=OFF", in_transaction=True)
    values, _ = settings(database.engine)
    assert values["foreign_keys"] == 1
    with database.engine.connect() as connection:
        raw = connection.connection.driver_connection
        assert isinstance(raw, sqlite3.Connection)
        assert raw.execute("PRAGMA defer_foreign_keys").fetchone()[0] == 0
