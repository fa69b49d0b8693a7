"""A read-only snapshot of a workspace, as a SQLAlchemy connection that takes no write lock.

The workspace's engine opens every transaction with ``BEGIN IMMEDIATE`` (a writer takes the
lock up front, see :mod:`supportdesk.store.engine`). Work that only reads through a :class:`Tx`
— a macro preview, the prepare step of a mutation (rendering a macro's comment) — must not hold
that lock, or one slow template would make every other writer wait. This connection begins a
plain deferred transaction on a ``query_only`` SQLite connection: a consistent view of the file
(WAL readers never block writers, nor writers them) in which nothing can be written.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

    from sqlalchemy.engine import Connection, Engine

    from supportdesk.store.workspace import Workspace


@lru_cache(maxsize=32)
def _reader(db_path: Path) -> Engine:
    import sqlite3

    from sqlalchemy import create_engine, event
    from sqlalchemy.pool import NullPool

    from supportdesk.store.engine import BUSY_TIMEOUT_MS, configure_sqlite

    def connect() -> sqlite3.Connection:
        connection = sqlite3.connect(
            db_path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
        )
        configure_sqlite(connection)
        connection.execute("PRAGMA query_only=ON")
        return connection

    engine = create_engine("sqlite://", creator=connect, poolclass=NullPool)

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN")

    return engine


@contextmanager
def read_snapshot(workspace: Workspace) -> Iterator[Connection]:
    """A connection inside one deferred read transaction, rolled back and closed afterwards."""
    with _reader(workspace.db_path).connect() as connection:
        transaction = connection.begin()
        try:
            yield connection
        finally:
            transaction.rollback()
