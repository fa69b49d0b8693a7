"""SQLAlchemy engines for the write path (local SQLite workspace or a server database).

Several processes share one workspace file: the console, a background sync, a CLI command. So
every SQLite connection runs in WAL mode with a long busy timeout, foreign keys on, and every
transaction starts with ``BEGIN IMMEDIATE``: a writer takes the write lock up front instead of
upgrading a read lock later (the upgrade is what produces "database is locked" mid-transaction).

``secure_delete`` is on for every connection: the space a deleted or rewritten row leaves (inside
a page, or a whole page on the free list) is overwritten with zeros, so an erased customer's text
does not linger in the file's free space (see :mod:`supportdesk.domain.mutations.privacy`).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

BUSY_TIMEOUT_MS = 60_000

SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA secure_delete=ON",
    f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}",
    "PRAGMA temp_store=MEMORY",
    "PRAGMA cache_size=-65536",
)


def configure_sqlite(connection: sqlite3.Connection) -> None:
    """Apply the pragmas every connection to a workspace file needs."""
    for pragma in SQLITE_PRAGMAS:
        connection.execute(pragma)


def fold_wal(connection: sqlite3.Connection, *, wait_ms: int = BUSY_TIMEOUT_MS) -> bool:
    """Copy the write-ahead log into the database file and truncate the log to zero bytes.

    The log keeps whole earlier page images until it is overwritten, so after an erasure it is
    folded in: then neither file holds the old text. Waits up to ``wait_ms`` for readers on an
    older snapshot; returns False when one still held the log at the end. ``connection`` must be
    outside a transaction.
    """
    connection.execute(f"PRAGMA busy_timeout={int(wait_ms)}")
    try:
        row = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    finally:
        connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    return row is None or int(row[0]) == 0


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def create_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``; SQLite URLs get the pragmas and ``BEGIN IMMEDIATE``."""
    from sqlalchemy import create_engine as sa_create_engine
    from sqlalchemy import event

    if not url.startswith("sqlite"):
        return sa_create_engine(url, pool_pre_ping=True, **kwargs)

    engine = sa_create_engine(
        url,
        connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
        **kwargs,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        # Let SQLAlchemy's "begin" event emit BEGIN itself instead of pysqlite's deferred one.
        dbapi_connection.isolation_level = None
        configure_sqlite(dbapi_connection)

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
