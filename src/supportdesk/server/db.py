"""The server's database: a SQLite file by default, PostgreSQL when given a ``postgresql://`` URL.

Both run the same Alembic migrations and the same store models; PostgreSQL is reached with
psycopg 3. A SQLite file is its owner's only (0600, and so its ``-wal`` and ``-shm``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

DEFAULT_DB = "supportdesk-server.db"


class DatabaseError(Exception):
    """The server database cannot be used; the message says why."""


def normalize_url(db: str | Path | None) -> str:
    """A SQLAlchemy URL from ``--db``: a file path, ``sqlite:///…`` or ``postgresql://…``."""
    text = str(db) if db else DEFAULT_DB
    if text.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + text.split("://", 1)[1]
    if text.startswith(("postgresql+psycopg://", "sqlite:")):
        return text
    if "://" in text:
        raise DatabaseError(f"{text}: use a file path, sqlite:///PATH or postgresql://…")
    return f"sqlite:///{Path(text).expanduser().resolve()}"


@dataclass
class ServerDatabase:
    """``engine`` writes (``BEGIN IMMEDIATE`` on SQLite); ``read_engine`` reads in snapshots.

    On SQLite reads use deferred transactions, so a pull or a bootstrap stream never holds the
    write lock; on PostgreSQL both are one engine.
    """

    url: str
    engine: Engine
    read_engine: Engine

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    def dispose(self) -> None:
        self.engine.dispose()
        if self.read_engine is not self.engine:
            self.read_engine.dispose()


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for PostgreSQL or an in-memory database)."""
    if not url.startswith("sqlite:///") or url.endswith(":memory:"):
        return None
    return Path(url.removeprefix("sqlite:///"))


def _sqlite_read_engine(url: str) -> Engine:
    import sqlite3

    from sqlalchemy import create_engine, event

    from supportdesk.store.engine import BUSY_TIMEOUT_MS, configure_sqlite

    engine = create_engine(
        url,
        connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
        hide_parameters=True,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        dbapi_connection.isolation_level = None
        configure_sqlite(dbapi_connection)
        dbapi_connection.execute("PRAGMA query_only=ON")

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN")

    return engine


def open_database(db: str | Path | None, *, migrate: bool = True, pool_size: int = 10) -> ServerDatabase:
    """Open (and bring up to date) the server database named by ``--db``."""
    from sqlalchemy.exc import OperationalError

    from supportdesk.store.engine import create_engine

    url = normalize_url(db)
    path = sqlite_path(url)
    if path is not None:
        from supportdesk.store.private_files import private_database

        try:
            private_database(path)
        except OSError as error:
            raise DatabaseError(f"cannot open the server database {path}: {error.strerror or error}") from None
    # Parameters never appear in a database error's text: they may be customers' words.
    kwargs: dict[str, Any] = {"hide_parameters": True}
    if url.startswith("postgresql"):
        kwargs.update(pool_size=pool_size, max_overflow=pool_size)
    else:
        # A fresh SQLite connection for every write: a pooled one can come back holding a read
        # snapshot (a statement some reader left unfinished), and its BEGIN IMMEDIATE then fails
        # with SQLITE_BUSY_SNAPSHOT once anyone else has written. Opening costs well under a
        # millisecond; a customer's survey answer failing with a 500 under load cost more.
        from sqlalchemy.pool import NullPool

        kwargs.update(poolclass=NullPool)
    engine = create_engine(url, **kwargs)
    read_engine = engine if url.startswith("postgresql") else _sqlite_read_engine(url)
    database = ServerDatabase(url, engine, read_engine)
    if migrate:
        try:
            from supportdesk.store.migrate import upgrade

            upgrade(engine)
        except OperationalError as error:
            database.dispose()
            reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
            raise DatabaseError(f"cannot open the server database: {reason}") from None
    return database
