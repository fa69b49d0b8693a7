"""Group commit: consecutive ``supportdesk batch`` lines share one transaction (issue 19).

With one ``BEGIN IMMEDIATE … COMMIT`` per line, SQLite's commit and the transaction's plumbing
alone cost ~0.5 ms a line, which caps a batch below the issue's 2,000 operations/s whatever the
Python does. So ``batch`` opens a :class:`Group`: one write transaction that several lines run
in, committed when the input has no further line ready (a script that writes a line and waits
for its answer gets it at once), after ``--commit-every`` lines or after a few milliseconds.

What stays as it was, line by line:

- **each write is atomic and independent**: every :func:`supportdesk.domain.write.apply_many`
  call of a line runs in its own ``SAVEPOINT`` of the group (:meth:`Group.run`) — exactly where
  it had its own transaction —, so a refused mutation, a constraint or an unexpected exception
  rolls back that write alone and the lines before and after it keep theirs;
- **reads see the writes before them**: while a group is open every connection the workspace
  hands out (:meth:`supportdesk.store.workspace.Workspace.connect`: the CLI's reads, the
  workspace's agent, a prepare step) is the group's own connection (:class:`_Lent`), inside its
  transaction;
- **nothing is lost that was answered**: ``batch`` prints a line's result only after the
  ``COMMIT`` that holds it (:meth:`Group.commit`); when that commit fails, or SQLite rolls the
  whole transaction back under a line (:attr:`Group.lost`), every line of the group is reported
  failed and none is applied. The outbox entries and audit events are rows of the same
  transaction, so they are kept exactly once with their line, or not at all.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, TypeVar, cast

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, RootTransaction

    from supportdesk.store.workspace import Workspace

T = TypeVar("T")

#: Set in a pooled connection's record once the semantic SQL function is installed on it.
_INSTALLED = "supportdesk.group_commit.semantic"

_CURRENT: ContextVar[Group | None] = ContextVar("supportdesk_group_commit", default=None)


def current() -> Group | None:
    """The group the write path runs in, if a ``batch`` opened one."""
    return _CURRENT.get()


class Group:
    """One write transaction shared by consecutive lines, and the connection every read of those
    lines uses. Opened lazily (:meth:`begin`), ended by :meth:`commit` or :meth:`rollback`."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self.connection: Connection | None = None
        self._transaction: RootTransaction | None = None
        self._driver: sqlite3.Connection | None = None
        self._cache: AbstractContextManager[None] | None = None
        #: Set when SQLite rolled the whole transaction back under a write (a full disk, an I/O
        #: error): every line of the group is lost. :meth:`take_lost` reads and clears it.
        self.lost: BaseException | None = None
        #: Writes (savepoints released) in the open transaction.
        self.writes = 0

    @property
    def is_open(self) -> bool:
        return self.connection is not None

    def begin(self) -> Connection:
        """The group's connection, its ``BEGIN IMMEDIATE`` issued (retried while another process
        holds the write lock, as every write is) and its configuration cache open."""
        if self.connection is not None:
            return self.connection
        from supportdesk.domain.config_cache import config_cache
        from supportdesk.domain.lock_retry import with_retries
        from supportdesk.store import semantic

        engine = self.workspace.engine

        def attempt() -> tuple[Connection, RootTransaction]:
            connection = engine.connect()
            try:
                return connection, connection.begin()
            except BaseException:
                connection.close()
                raise

        found: tuple[Connection, RootTransaction] = with_retries(attempt)
        connection, transaction = found
        try:
            cache = config_cache(connection)
            cache.__enter__()
            driver = connection.connection.dbapi_connection
            assert isinstance(driver, sqlite3.Connection)
            # the readers' SQL functions, on the connection they now use — once per connection:
            # registering a function expires every statement SQLite has prepared on it, and a
            # group re-preparing them all (the schema parsed again) cost more than it saved
            record = connection.connection.info
            if not record.get(_INSTALLED):
                semantic.install(driver)
                record[_INSTALLED] = True
        except BaseException:
            transaction.rollback()
            connection.close()
            raise
        self.connection, self._transaction, self._driver, self._cache = connection, transaction, driver, cache
        self.writes = 0
        return connection

    def run(self, work: Callable[[Connection], T]) -> T:
        """``work`` in its own savepoint of the group's transaction: kept when it returns, rolled
        back alone when it raises (unless SQLite already rolled back everything: :attr:`lost`)."""
        connection = self.begin()
        driver = self._driver
        assert driver is not None
        if not driver.in_transaction:  # ended under an earlier line, unnoticed there (see below)
            self.lost = sqlite3.OperationalError("SQLite ended the transaction the lines shared")
            self._end(commit=False)
            connection = self.begin()
            driver = self._driver
            assert driver is not None
        driver.execute("SAVEPOINT grouped_write")
        try:
            result = work(connection)
        except BaseException as error:
            if driver.in_transaction:
                driver.execute("ROLLBACK TO SAVEPOINT grouped_write")
                driver.execute("RELEASE SAVEPOINT grouped_write")
            else:  # SQLite ended the transaction itself: the earlier lines' writes went with it
                self.lost = error
                self._end(commit=False)
            raise
        if not driver.in_transaction:
            # the work caught SQLite's error itself (a borrower's own savepoint on a full disk),
            # but the transaction, this line's writes and the earlier lines' are gone
            self.lost = sqlite3.OperationalError("SQLite ended the transaction the lines shared")
            self._end(commit=False)
            raise self.lost
        driver.execute("RELEASE SAVEPOINT grouped_write")
        self.writes += 1
        return result

    def take_lost(self) -> BaseException | None:
        lost, self.lost = self.lost, None
        return lost

    def commit(self) -> None:
        """Commit the open transaction (nothing to do when none is open). When the ``COMMIT``
        fails the transaction is rolled back, nothing of it is applied, and the error is raised;
        so it is when SQLite had already ended the transaction (its ``COMMIT`` would succeed on
        nothing and the lines be answered as applied)."""
        if self._driver is not None and not self._driver.in_transaction:
            self._end(commit=False)
            raise sqlite3.OperationalError("SQLite ended the transaction the lines shared")
        self._end(commit=True)

    def rollback(self) -> None:
        self._end(commit=False)

    def _end(self, *, commit: bool) -> None:
        connection, transaction, cache, driver = self.connection, self._transaction, self._cache, self._driver
        if connection is None or transaction is None:
            return
        self.connection = self._transaction = self._driver = self._cache = None
        self.writes = 0
        from supportdesk.domain import config_cache

        engine = connection.engine
        try:
            if commit:
                keeping, cache = cache, None
                if keeping is not None:
                    keeping.__exit__(None, None, None)  # what this group read is kept for the next
                transaction.commit()
            else:
                dropping, cache = cache, None
                if dropping is not None:  # left by an exception: nothing it read is kept
                    dropping.__exit__(_Dropped, _Dropped(), None)
                if transaction.is_active:
                    transaction.rollback()
        except BaseException:
            # what was kept may hold this transaction's own uncommitted changes: never reuse it
            config_cache._KEPT.pop(engine, None)
            if transaction.is_active:
                transaction.rollback()
            if driver is not None and driver.in_transaction:
                # a COMMIT SQLite refused (a deferred foreign key) leaves its transaction open, and
                # SQLAlchemy, which saw the commit fail, rolls nothing back: the pooled connection
                # then refused the next group's BEGIN ("cannot start a transaction within a
                # transaction") and every later line of the batch failed
                driver.execute("ROLLBACK")
            raise
        finally:
            connection.close()  # the pool rolls back what is open, unless SQLAlchemy saw it end (above)

    def lend(self, readonly: bool) -> sqlite3.Connection | None:
        """:meth:`Workspace.connect`'s hook: the group's connection while its transaction is open."""
        if self._driver is None:
            return None
        return cast(sqlite3.Connection, _Lent(self._driver))


@contextmanager
def grouped(group: Group) -> Iterator[Group]:
    """Within the block the write path runs in ``group`` and the workspace lends its connection;
    a transaction still open when the block ends by an exception is rolled back."""
    token = _CURRENT.set(group)
    workspace = group.workspace
    workspace.lend = group.lend
    try:
        yield group
    except BaseException:
        group.rollback()
        raise
    finally:
        workspace.lend = None
        _CURRENT.reset(token)
        group.rollback()  # the caller commits what it keeps; anything left over is not answered


class _Dropped(Exception):
    """Ends a group's configuration cache without keeping what it read (a rollback)."""


class _Lent:
    """The group's ``sqlite3`` connection as a reader or a small writer sees it.

    Rows come as ``sqlite3.Row`` (as :meth:`Workspace.connect` makes them) on each cursor, not on
    the connection, which SQLAlchemy shares. Closing it does nothing; a borrower's own
    ``BEGIN``/``COMMIT``/``ROLLBACK`` (``Workspace.writing``) become a savepoint of the group, so
    its writes are kept or dropped with the group like every other write of the line.
    """

    def __init__(self, driver: sqlite3.Connection) -> None:
        self._driver = driver
        self.row_factory: Any = sqlite3.Row
        self._savepoint = False

    @property
    def in_transaction(self) -> bool:
        return self._savepoint

    def cursor(self) -> sqlite3.Cursor:
        cursor = self._driver.cursor()
        cursor.row_factory = self.row_factory
        return cursor

    def execute(self, sql: str, parameters: Any = ()) -> sqlite3.Cursor:
        word = sql.lstrip()[:8].upper()
        if word.startswith(("BEGIN", "COMMIT", "END", "ROLLBACK")) and not word.startswith("ROLLBACK T"):
            return self._transaction_word(word)
        return self.cursor().execute(sql, parameters)

    def executemany(self, sql: str, rows: Any) -> sqlite3.Cursor:
        return self.cursor().executemany(sql, rows)

    def _transaction_word(self, word: str) -> sqlite3.Cursor:
        cursor = self.cursor()
        if word.startswith("BEGIN"):
            cursor.execute("SAVEPOINT lent")
            self._savepoint = True
        elif self._savepoint:
            if word.startswith("ROLLBACK"):
                cursor.execute("ROLLBACK TO SAVEPOINT lent")
            cursor.execute("RELEASE SAVEPOINT lent")
            self._savepoint = False
        return cursor

    def commit(self) -> None:
        if self._savepoint:
            self._transaction_word("COMMIT")

    def rollback(self) -> None:
        if self._savepoint:
            self._transaction_word("ROLLBACK")

    def close(self) -> None:
        self.rollback()

    def __enter__(self) -> _Lent:
        return self

    def __exit__(self, kind: object, *_rest: object) -> None:
        if kind is None:
            self.commit()
        else:
            self.rollback()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._driver, name)
