"""SQLAlchemy engines for the write path (local SQLite workspace or a server database).

Several processes share one workspace file: the console, a background sync, a CLI command. So
every SQLite connection runs in WAL mode with a long busy timeout, foreign keys on, and every
transaction starts with ``BEGIN IMMEDIATE``: a writer takes the write lock up front instead of
upgrading a read lock later (the upgrade is what produces "database is locked" mid-transaction).

Writers of one process take turns on a lock before their ``BEGIN IMMEDIATE`` (:class:`WriteTurns`):
SQLite's own wait for the write lock is a busy handler that *sleeps* (1, 2, 5 … 100 ms) and tries
again, so a few threads writing at once spent most of their time asleep while the lock was free
(a server answering REST creates from four threads spent 97% of each request in ``BEGIN
IMMEDIATE``). A thread waiting on the lock wakes the instant the writer before it commits. Other
processes (another console, ``serve --workers N``) still meet at SQLite's lock, as before.

``secure_delete`` is on for every connection: the space a deleted or rewritten row leaves (inside
a page, or a whole page on the free list) is overwritten with zeros, so an erased customer's text
does not linger in the file's free space (see :mod:`supportdesk.domain.mutations.privacy`).
"""

from __future__ import annotations

import sqlite3
import threading
import time
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


class WriteTurns:
    """One engine's writers, one at a time within this process (see the module docstring).

    A turn is taken before ``BEGIN IMMEDIATE`` and given back when the transaction ends — after
    its ``COMMIT`` or ``ROLLBACK`` ran, so the next writer never finds SQLite still locked — or
    when the connection goes back to its pool without ending it. A thread that already holds the
    turn on another connection does not wait for itself: SQLite decides, as it did before. The
    wait is bounded by the busy timeout; past it the writer goes on to SQLite's own wait.
    """

    KEY = "supportdesk_write_turn"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._owner: int | None = None

    def take(self, info: dict[Any, Any]) -> None:
        me = threading.get_ident()
        if self._owner == me:
            return
        if self._lock.acquire(timeout=BUSY_TIMEOUT_MS / 1000):
            self._owner = me
            info[self.KEY] = self

    def give_back(self, info: dict[Any, Any]) -> None:
        if info.pop(self.KEY, None) is self:
            self._owner = None
            self._lock.release()


def _end_then_give_back(turns: WriteTurns, connection: Any, end: str) -> None:
    """End the transaction on the driver's connection, then give the turn back (SQLAlchemy's
    ``commit``/``rollback`` events fire *before* it ends it; its own call that follows finds no
    transaction and does nothing). A failure is left for SQLAlchemy's call to raise, wrapped — unless
    SQLite already rolled the transaction back, when that call would return quietly."""
    if connection.invalidated:
        # its driver connection is closed (SQLite's lock went with it) and went back to the pool,
        # whose checkin gave the turn back; reaching for it here raises PendingRollbackError
        return
    if WriteTurns.KEY not in connection.info:
        return
    driver = None
    try:
        driver = connection.connection.dbapi_connection
        getattr(driver, end)()
    except sqlite3.Error as error:
        if end != "commit" or driver is None or driver.in_transaction:
            return  # a rollback, or still open: SQLAlchemy's own call ends it again and raises (wrapped)
        # SQLite already rolled it back (SQLITE_FULL / IOERR / NOMEM at COMMIT): SQLAlchemy's call
        # would find no transaction and return quietly, so the failure is raised here
        from sqlalchemy.exc import DBAPIError

        raise DBAPIError.instance(None, None, error, sqlite3.Error) from error
    finally:
        turns.give_back(connection.info)


def _begin_immediate(connection: Any) -> None:
    """``BEGIN IMMEDIATE`` on the driver's connection, its failure raised as SQLAlchemy would
    (``database is locked`` as :class:`sqlalchemy.exc.OperationalError`, which the write path
    retries). Through ``exec_driver_sql`` it built an execution context and a result for a
    statement that returns nothing, once per write transaction: ~2 % of a batched note's CPU."""
    try:
        connection.connection.dbapi_connection.execute("BEGIN IMMEDIATE")
    except sqlite3.Error as error:
        from sqlalchemy.exc import DBAPIError

        raise DBAPIError.instance("BEGIN IMMEDIATE", (), error, sqlite3.Error) from error


#: Seconds a pooled PostgreSQL connection may sit unused and still be handed out without a ping.
PING_AFTER_IDLE = 10.0


def ping_when_idle(engine: Engine, idle: float = PING_AFTER_IDLE) -> None:
    """Ping a pooled connection at checkout only when it sat unused for ``idle`` seconds or more.

    ``pool_pre_ping`` pinged on every checkout: one round trip of a push's 15 on PostgreSQL, and a
    wait for the GIL after it in a busy process, for connections a request gave back milliseconds
    before. What the ping is for — a connection the database or a firewall closed while it sat in
    the pool (an idle timeout, a restart during a quiet night) — happens to idle connections. A
    connection in steady use that the database drops (a failover, ``pg_terminate_backend``) fails
    its statement instead; SQLAlchemy then throws that connection away, and every other one
    opened before the failure at its next checkout, so one request fails and the client's
    retry finds fresh connections (a push is exactly once: its retry applies what the failed
    attempt did not).
    """
    from sqlalchemy import event
    from sqlalchemy.exc import DisconnectionError

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["supportdesk_idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("supportdesk_idle_since")
        if since is None or time.monotonic() - since < idle:
            return  # new, or back in the pool a moment ago
        try:
            dbapi_connection.execute("SELECT 1").close()
            dbapi_connection.rollback()  # autocommit is off: end the ping's transaction
        except Exception as error:
            # the pool closes this one and checks out another (SQLAlchemy's documented
            # pessimistic check: raising DisconnectionError from a checkout handler)
            raise DisconnectionError(f"a pooled connection was dropped while idle: {error}") from error


#: SQLSTATEs with which PostgreSQL ends the session itself: an administrator's command
#: (``pg_terminate_backend``, a fast shutdown), a crash, a start-up refusal, a dropped database,
#: an idle session timed out. Class ``08`` (connection exceptions) is taken whole.
SESSION_ENDED = frozenset({"57P01", "57P02", "57P03", "57P04", "57P05"})


def dropped_connection(error: BaseException) -> bool:
    """Whether psycopg's ``error`` means the connection cannot be used again.

    SQLAlchemy's psycopg dialect asks only whether the connection is already marked broken. When
    the server's goodbye (a FATAL after ``pg_terminate_backend``) was read while the connection was
    idle but the closed socket was not yet seen, libpq holds the goodbye as a pending result and
    the next statement fails with "sending query failed: … another command is already in
    progress" on a connection still marked good. SQLAlchemy then kept it: the push's clean-up
    failed on it and the pool could hand it out again (caught once in CI by
    ``tests/server/test_attack19_push_disconnect.py``). So the error is judged by what it is: an
    OperationalError with no SQLSTATE was made by the client library (a send or a read that
    failed; not :data:`REFUSED_BEFORE_SENDING`), and the SQLSTATEs above are the server ending
    the session. A failed pipeline's later statements (``PipelineAborted``, also without one)
    say nothing about the connection.
    """
    import psycopg

    if not isinstance(error, psycopg.OperationalError) or isinstance(error, psycopg.errors.PipelineAborted):
        return False
    state = error.sqlstate
    if state is None:
        return not any(refusal in str(error) for refusal in REFUSED_BEFORE_SENDING)
    return state.startswith("08") or state in SESSION_ENDED


#: libpq's own refusals of a statement before anything is sent (also OperationalErrors without
#: a SQLSTATE): the connection is as good as before, and throwing it away would throw the pool's
#: other connections away with it.
REFUSED_BEFORE_SENDING = ("number of parameters must be between",)


def _mark_dropped_connections(context: Any) -> None:
    """SQLAlchemy's ``handle_error`` hook: a dropped connection (see :func:`dropped_connection`)
    is a disconnect, so SQLAlchemy invalidates it and the pool's older connections."""
    if not context.is_disconnect and dropped_connection(context.original_exception):
        context.is_disconnect = True


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def create_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``; SQLite URLs get the pragmas and ``BEGIN IMMEDIATE``."""
    from sqlalchemy import create_engine as sa_create_engine
    from sqlalchemy import event

    if not url.startswith("sqlite"):
        # last in, first out: the connections in use stay few and warm (psycopg prepares a
        # statement per connection after five uses there; the pool's FIFO rotated every request
        # through all of them), and the ones a quiet hour leaves idle are the ones pinged
        kwargs.setdefault("pool_use_lifo", True)
        engine = sa_create_engine(url, **kwargs)
        ping_when_idle(engine)
        event.listen(engine, "handle_error", _mark_dropped_connections)
        return engine

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

    turns = WriteTurns()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        turns.take(connection.info)
        try:
            _begin_immediate(connection)
        except BaseException:
            turns.give_back(connection.info)
            raise

    @event.listens_for(engine, "commit")
    def _on_commit(connection: Any) -> None:
        _end_then_give_back(turns, connection, "commit")

    @event.listens_for(engine, "rollback")
    def _on_rollback(connection: Any) -> None:
        _end_then_give_back(turns, connection, "rollback")

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        turns.give_back(record.info)

    return engine
