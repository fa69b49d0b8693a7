"""``BEGIN IMMEDIATE`` runs on the driver's connection (store/engine.py), not through
``exec_driver_sql``: its failure must still reach the write path as SQLAlchemy's error, which
``domain.write`` retries when the database is locked, and the write turn must come back."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from supportdesk.store.engine import create_engine, sqlite_url


class LockedAtBegin(sqlite3.Connection):
    """A connection whose next ``BEGIN IMMEDIATE`` finds the database locked by another process."""

    fail_next = 0

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        if sql == "BEGIN IMMEDIATE" and LockedAtBegin.fail_next:
            LockedAtBegin.fail_next -= 1
            raise sqlite3.OperationalError("database is locked")
        return super().execute(sql, *args)


def _engine(path: Path) -> Any:
    return create_engine(
        sqlite_url(path),
        creator=lambda: sqlite3.connect(path, factory=LockedAtBegin, check_same_thread=False, timeout=60),
    )


def test_a_locked_database_at_begin_is_sqlalchemys_error_and_gives_the_turn_back(tmp_path: Path) -> None:
    engine = _engine(tmp_path / "locked.db")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE item (id INTEGER PRIMARY KEY)"))
    LockedAtBegin.fail_next = 1
    with pytest.raises(OperationalError, match="database is locked"), engine.begin() as connection:
        connection.execute(text("INSERT INTO item (id) VALUES (1)"))
    # the turn came back: another thread writes at once instead of waiting for the busy timeout
    wrote = threading.Event()

    def write() -> None:
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO item (id) VALUES (2)"))
        wrote.set()

    other = threading.Thread(target=write)
    other.start()
    other.join(timeout=10)
    assert wrote.is_set()
    assert sqlite3.connect(tmp_path / "locked.db").execute("SELECT id FROM item").fetchall() == [(2,)]


def test_the_write_path_retries_a_begin_that_found_the_database_locked(tmp_path: Path) -> None:
    from supportdesk.domain.write import _with_retries

    engine = _engine(tmp_path / "retry.db")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE item (id INTEGER PRIMARY KEY)"))
    LockedAtBegin.fail_next = 2

    def work() -> None:
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO item (id) VALUES (7)"))

    _with_retries(work)
    assert LockedAtBegin.fail_next == 0
    assert sqlite3.connect(tmp_path / "retry.db").execute("SELECT id FROM item").fetchall() == [(7,)]


def test_a_transaction_really_holds_the_write_lock_from_its_begin(tmp_path: Path) -> None:
    path = tmp_path / "lock.db"
    engine = create_engine(sqlite_url(path))
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE item (id INTEGER PRIMARY KEY)"))
    with engine.connect() as connection, connection.begin():
        connection.execute(text("SELECT 1"))  # a read only: the lock was taken at BEGIN IMMEDIATE
        other = sqlite3.connect(path, timeout=0)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
        other.close()
