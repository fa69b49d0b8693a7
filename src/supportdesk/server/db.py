"""The server's database: a SQLite file by default, PostgreSQL when given a ``postgresql://`` URL.

Both run the same Alembic migrations and the same store models; PostgreSQL is reached with
psycopg 3. A SQLite file is its owner's only (0600, and so its ``-wal`` and ``-shm``).
"""

from __future__ import annotations

import sqlite3
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlalchemy.pool import PoolResetState

DEFAULT_DB = "supportdesk-server.db"
READ_ONLY = "PRAGMA query_only=ON"
#: The write engine's connections are writable: checked at check-in like the others, so a
#: borrower that turned query_only on and failed before turning it off does not make every
#: later write on that connection fail with "attempt to write a readonly database".
WRITABLE = "PRAGMA query_only=OFF"


class DatabaseError(Exception):
    """The server database cannot be used; the message says why."""


def normalize_url(db: str | Path | None) -> str:
    """A SQLAlchemy URL from ``--db``: a file path, ``sqlite:///…`` or ``postgresql://…``."""
    text = str(db) if db else DEFAULT_DB
    if text.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + text.split("://", 1)[1]
    if text.startswith(("postgresql+psycopg://", "sqlite:", "sqlite+pysqlite:")):
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
    """The file of a SQLite URL (None for PostgreSQL or an in-memory database).

    Read as SQLAlchemy's own dialect reads it (``create_connect_args``: the name and the ``uri``
    flag it hands to ``sqlite3.connect``), so a query string (``?timeout=5``), a driver
    (``sqlite+pysqlite``) or a ``file:`` URI (``?uri=true``) names the file the engine opens —
    not a file called ``db?timeout=5`` that the server would create and guard instead. Without
    ``uri=true`` SQLite reads no URI: ``file:x.db`` is a file of that name and a ``mode=memory``
    query is ignored (SQLAlchemy warns), so the file it opens is named and guarded all the same.
    """
    import warnings
    from urllib.parse import parse_qs, unquote, urlsplit

    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # query arguments pysqlite ignores: the engine warns of them
        args, options = parsed.get_dialect()().create_connect_args(parsed)
    database = str(args[0]) if args else str(options.get("database", ""))
    if options.get("uri"):
        split = urlsplit(database)
        if split.scheme == "file":
            if "memory" in parse_qs(split.query).get("mode", []):
                return None
            database = unquote(split.path)
    if database in ("", ":memory:"):
        return None
    return Path(database)


class PooledSQLite(sqlite3.Connection):
    """A SQLite connection that keeps (weakly) the cursors it lent, so that going back to its pool
    can finish every statement still open: Python's ``rollback()`` no longer resets them, and an
    unfinished ``SELECT`` keeps its read snapshot after the transaction ended (see
    :func:`_keep_pooled_connections_clean`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lent: weakref.WeakSet[sqlite3.Cursor] = weakref.WeakSet()
        #: The per-connection pragmas' values as its pool hands it out (read after the first
        #: reset set them), compared at each later reset instead of setting them again.
        self.fresh: tuple[Any, ...] | None = None

    def cursor(self, factory: Any = sqlite3.Cursor) -> Any:  # SQLAlchemy runs every statement on one
        cursor = super().cursor(factory)
        self.lent.add(cursor)
        return cursor

    # ``sqlite3.Connection.execute`` and ``executemany`` make their cursor in C without calling
    # ``cursor()``: routed through it, a statement run straight on the driver connection (the
    # report rollup's paused trigger, a raw fast path) is finished on the way back too.
    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        cursor: sqlite3.Cursor = self.cursor()
        return cursor.execute(sql, parameters)

    def executemany(self, sql: str, parameters: Any, /) -> sqlite3.Cursor:
        cursor: sqlite3.Cursor = self.cursor()
        return cursor.executemany(sql, parameters)

    def finish_statements(self) -> None:
        """Close every cursor lent and still alive (closing resets its statement)."""
        for cursor in list(self.lent):
            cursor.close()


def _sqlite_pool(pool_size: int) -> dict[str, Any]:
    """How a SQLite server keeps its connections: up to ``pool_size`` open, more at a burst.

    A connection's first statement parses the whole schema (some 240 tables, indexes and
    triggers: ~2 ms of CPU), which a fresh connection per write paid every time. The pool is
    last-in, first-out: writers take turns (:class:`~supportdesk.store.engine.WriteTurns`), so
    the connection of the last write is the one taken next, and its page cache is still valid
    (a connection whose snapshot another one moved on re-reads its pages). Never more than the
    threads that ask (no overflow limit): a writer never waits for a connection, only for its turn.
    """
    from sqlalchemy.pool import QueuePool

    return {"poolclass": QueuePool, "pool_size": pool_size, "max_overflow": -1, "pool_use_lifo": True}


def _keep_pooled_connections_clean(engine: Engine, pragmas: tuple[str, ...]) -> None:
    """Make every SQLite connection of ``engine`` go back to its pool as a fresh one would be.

    On its way back (SQLAlchemy's ``reset``, before the pool's own rollback and before the write
    turn is given back): every statement still open is finished — an unconsumed ``SELECT`` held
    its read snapshot past the transaction's end, and the next ``BEGIN IMMEDIATE`` on the
    connection then failed with ``SQLITE_BUSY_SNAPSHOT`` once anyone else had written (a reader
    would have read the past) —, a transaction still open is rolled back, and ``pragmas`` are
    set again when one of them no longer has the value they gave it (a caller may have changed
    ``foreign_keys`` or the busy timeout and not restored it: one ``SELECT`` reads them all, see
    :func:`_pragma_probe`). A connection that cannot be reset is closed by SQLAlchemy instead of
    pooled.
    """
    from sqlalchemy import event

    @event.listens_for(engine, "do_connect")
    def _with_lent_cursors(_dialect: Any, _record: Any, _args: Any, params: dict[str, Any]) -> None:
        params["factory"] = PooledSQLite

    # WAL is the file's, kept by SQLite; the others belong to each connection
    per_connection = tuple(pragma for pragma in pragmas if "journal_mode" not in pragma)
    probe = _pragma_probe(per_connection)

    @event.listens_for(engine, "reset")
    def _as_fresh(dbapi_connection: sqlite3.Connection, _record: Any, state: PoolResetState) -> None:
        if state.terminate_only:
            return  # being closed, not pooled
        pooled = dbapi_connection if isinstance(dbapi_connection, PooledSQLite) else None
        if pooled is not None:
            pooled.finish_statements()
        if dbapi_connection.in_transaction:
            dbapi_connection.rollback()
        if pooled is not None and pooled.fresh is not None and _read(pooled, probe) == pooled.fresh:
            return  # nothing changed them: setting them again would expire every prepared statement
        for pragma in per_connection:
            dbapi_connection.execute(pragma)
        if pooled is not None:
            pooled.fresh = _read(pooled, probe)


def _pragma_probe(pragmas: tuple[str, ...]) -> str:
    """One ``SELECT`` of the current values of the pragmas ``PRAGMA name=value`` set.

    Why not just set them again at every check-in: setting a flag pragma (``foreign_keys``,
    ``query_only``) — even to the value it has — expires every prepared statement of the
    connection, so its next write compiled all of its ~45 statements again, the report rollup's
    and the search index's triggers inside them (~0.5 ms for the ``ticket_timing`` insert alone).
    Reading them expires nothing.
    """
    names = [pragma.split()[1].split("=", 1)[0] for pragma in pragmas]
    return "SELECT " + ", ".join(f"(SELECT * FROM pragma_{name})" for name in names)


def _read(connection: sqlite3.Connection, probe: str) -> tuple[Any, ...]:
    cursor = connection.execute(probe)
    try:
        return tuple(cursor.fetchone() or ())
    finally:
        cursor.close()


def _sqlite_read_engine(url: str, pool_size: int) -> Engine:
    from sqlalchemy import create_engine, event

    from supportdesk.store.engine import BUSY_TIMEOUT_MS, SQLITE_PRAGMAS, configure_sqlite

    engine = create_engine(
        url,
        connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
        hide_parameters=True,
        **_sqlite_pool(pool_size),
    )
    _keep_pooled_connections_clean(engine, (*SQLITE_PRAGMAS, READ_ONLY))

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        dbapi_connection.isolation_level = None
        configure_sqlite(dbapi_connection)
        dbapi_connection.execute(READ_ONLY)

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
        kwargs.update(_sqlite_pool(pool_size))
    engine = create_engine(url, **kwargs)
    if not url.startswith("postgresql"):
        from supportdesk.store.engine import SQLITE_PRAGMAS

        _keep_pooled_connections_clean(engine, (*SQLITE_PRAGMAS, WRITABLE))
    read_engine = engine if url.startswith("postgresql") else _sqlite_read_engine(url, pool_size)
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
