"""Review of ``WriteTurns`` (store/engine.py): a COMMIT that fails must not look like a success.

``_end_then_give_back`` runs the driver's COMMIT itself inside SQLAlchemy's ``commit`` event and
swallows its ``sqlite3.Error``, counting on SQLAlchemy's own COMMIT that follows to raise it again.
That only holds while the transaction is still open. When SQLite has already rolled it back
(it does so itself on SQLITE_FULL / SQLITE_IOERR / SQLITE_NOMEM at COMMIT, e.g. a full disk),
pysqlite's ``commit()`` finds no transaction and returns quietly: the caller is told the write
committed, and it did not.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from supportdesk.store.engine import create_engine, sqlite_url


class DiskFullAtCommit(sqlite3.Connection):
    """A connection whose next COMMIT fails the way a full disk does: rolled back, then an error."""

    fail_next = False

    def commit(self) -> None:
        if DiskFullAtCommit.fail_next and self.in_transaction:
            DiskFullAtCommit.fail_next = False
            self.execute("ROLLBACK")  # SQLite rolls the transaction back itself on SQLITE_FULL
            raise sqlite3.OperationalError("database or disk is full")
        super().commit()


def test_a_commit_that_failed_raises(tmp_path: Path) -> None:
    path = tmp_path / "full.db"
    engine = create_engine(
        sqlite_url(path),
        creator=lambda: sqlite3.connect(path, factory=DiskFullAtCommit, check_same_thread=False, timeout=60),
    )
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE item (id INTEGER PRIMARY KEY)"))
    with pytest.raises(OperationalError, match="disk is full"), engine.begin() as connection:
        connection.execute(text("INSERT INTO item (id) VALUES (1)"))
        DiskFullAtCommit.fail_next = True
    # the row is not there: the caller must have been told
    assert sqlite3.connect(path).execute("SELECT count(*) FROM item").fetchone() == (0,)


def test_an_invalidated_connection_ends_with_its_own_error(tmp_path: Path) -> None:
    """A connection invalidated inside a transaction (a disconnect the driver reports): the
    rollback event must not reach for the driver's connection — SQLAlchemy raises
    PendingRollbackError there, which replaces the error the caller should see."""
    engine = create_engine(sqlite_url(tmp_path / "gone.db"))
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE item (id INTEGER PRIMARY KEY)"))
    with (
        pytest.raises(ValueError, match="the caller's own error"),
        engine.connect() as connection,
        connection.begin(),
    ):
        connection.execute(text("INSERT INTO item (id) VALUES (1)"))
        connection.invalidate()
        raise ValueError("the caller's own error")
    # and the turn came back: another write goes through at once
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO item (id) VALUES (2)"))
