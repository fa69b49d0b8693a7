"""A workspace: one SQLite file plus an attachments folder, on one agent's machine.

Opening is cheap when the file is current: the schema revision is read with plain ``sqlite3``
and Alembic is only imported to create or upgrade the file. The raw connection from
:meth:`Workspace.connect` is the fast read path; :attr:`Workspace.engine` is the SQLAlchemy
engine the write path uses.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from supportdesk.errors import SupportdeskError
from supportdesk.store import semantic, times
from supportdesk.store.engine import BUSY_TIMEOUT_MS, configure_sqlite, sqlite_url

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

DB_NAME = "supportdesk.db"


class WorkspaceError(SupportdeskError):
    """The workspace cannot be opened or used; the message says why."""


class _Reusable(sqlite3.Connection):
    """A connection lent from :meth:`Workspace.reusing_connections`'s pool: closing it hands it
    back (rolled back if a transaction was left open) while the pool is open."""

    spares: list[sqlite3.Connection] | None = None

    def close(self) -> None:
        if self.spares is None:
            super().close()
            return
        if self.in_transaction:
            self.execute("ROLLBACK")
        self.row_factory = sqlite3.Row  # as connect() made it, whatever the borrower set
        self.spares.append(self)


class Workspace:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.db_path = root / DB_NAME
        self.attachments_dir = root / "attachments"
        self.upgraded_from: str | None = None
        self.backup_path: Path | None = None
        self._spares: dict[bool, list[sqlite3.Connection]] | None = None
        #: Set by ``batch``'s group commit (supportdesk.domain.group_commit): while its write
        #: transaction is open, every connection handed out is that one, so reads see its writes.
        self.lend: Callable[[bool], sqlite3.Connection | None] | None = None

    def __repr__(self) -> str:
        return f"Workspace({str(self.root)!r})"

    @classmethod
    def open(cls, root: str | Path, *, create: bool = True) -> Workspace:
        """Open the workspace at ``root``, creating or upgrading its schema when needed."""
        from supportdesk.store.schema import HEAD_REVISION

        workspace = cls(Path(root).expanduser())
        exists = workspace.db_path.exists()
        if not exists and not create:
            raise WorkspaceError(f"no workspace at {workspace.root}")
        if exists and not workspace.db_path.is_file():
            raise WorkspaceError(f"{workspace.db_path} is not a file")
        clock = None
        try:
            revision, clock = workspace._stamp() if exists else (None, None)
        except sqlite3.DatabaseError as error:
            raise WorkspaceError(f"{workspace.db_path} is not a supportdesk workspace: {error}") from None
        if revision != HEAD_REVISION:
            workspace._migrate(revision, existed=exists)
        else:
            workspace._keep_private()
        if isinstance(clock, str):
            times.adopt_clock(clock)  # a demo's history was built up to a fixed instant (store.times)
        return workspace

    def _stamp(self) -> tuple[str | None, Any]:
        """The file's schema revision and its ``demo_clock``, on one connection (a connection's
        first statement parses the whole schema: a command should pay that once, not twice)."""
        from supportdesk.store.migrate import revision_of

        with closing(sqlite3.connect(self.db_path, timeout=BUSY_TIMEOUT_MS / 1000)) as connection:
            revision = revision_of(connection)
            if revision is None or os.environ.get(times.NOW_VARIABLE):
                return revision, None
            try:
                return revision, read_setting(connection, "demo_clock")
            except sqlite3.DatabaseError:  # an older file without the table: not a demo's clock
                return revision, None

    def _keep_private(self) -> None:
        """The database (and its -wal, -shm) 0600 and the attachments folder 0700: customers'
        mail is for this account only (see :mod:`supportdesk.store.files`)."""
        from supportdesk.store.private_files import private_database, private_dir

        try:
            private_database(self.db_path)
            private_dir(self.attachments_dir)
        except OSError as error:
            raise WorkspaceError(f"cannot protect {self.root}: {error.strerror or error}") from None

    def _migrate(self, revision: str | None, *, existed: bool) -> None:
        from supportdesk.store.migrate import backup_sqlite, upgrade

        try:
            self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as error:
            raise WorkspaceError(f"cannot create {self.root}: {error.strerror}") from None
        self._keep_private()
        if existed and revision is not None:
            self.backup_path = backup_sqlite(self.db_path, revision)
            from supportdesk.store.private_files import private_database

            private_database(self.backup_path)
            self.upgraded_from = revision
        upgrade(self.engine)
        with closing(self.connect()) as connection:
            self._ensure_sync_state(connection)

    @staticmethod
    def _ensure_sync_state(connection: sqlite3.Connection) -> None:
        from supportdesk.store.ids import uuid7

        connection.execute(
            "INSERT OR IGNORE INTO sync_state (id, client_id, cursor, last_acked_mutation_id,"
            " bootstrap) VALUES (1, ?, 0, 0, '{}')",
            (uuid7(),),
        )

    # --- connections ----------------------------------------------------------------------

    def connect(self, *, readonly: bool = False) -> sqlite3.Connection:
        """A plain sqlite3 connection with the workspace pragmas and ``sqlite3.Row`` rows.

        The connection is in autocommit mode: callers that write start their own
        ``BEGIN IMMEDIATE``. Close it, or use :meth:`reading`.
        """
        if self.lend is not None:
            lent = self.lend(readonly)
            if lent is not None:
                return lent
        if self._spares is not None:
            spares = self._spares[readonly]
            if spares:
                return spares.pop()
        connection = sqlite3.connect(
            self.db_path,
            timeout=BUSY_TIMEOUT_MS / 1000,
            isolation_level=None,
            check_same_thread=False,
            factory=_Reusable,
        )
        if self._spares is not None:
            assert isinstance(connection, _Reusable)
            connection.spares = self._spares[readonly]
        connection.row_factory = sqlite3.Row
        configure_sqlite(connection)
        semantic.install(connection)
        if readonly:
            connection.execute("PRAGMA query_only=ON")
        return connection

    @contextmanager
    def reusing_connections(self) -> Iterator[None]:
        """Within the block a closed connection goes back to a pool for the next :meth:`connect`.

        A new connection costs a parse of the whole schema on its first statement (~1–7 ms), and
        a CLI command opens a few (its reads, the actor, the write's prepare step): once, that
        is nothing; ``supportdesk batch`` runs thousands of commands in one process. The pool is
        for one thread, and every connection in it is closed when the block ends.
        """
        if self._spares is not None:
            yield
            return
        self._spares = {False: [], True: []}
        try:
            yield
        finally:
            spares, self._spares = self._spares, None
            for connection in (*spares[False], *spares[True]):
                if isinstance(connection, _Reusable):
                    connection.spares = None
                connection.close()

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """A read-only connection, closed afterwards."""
        connection = self.connect(readonly=True)
        try:
            yield connection
        finally:
            connection.close()

    @contextmanager
    def writing(self) -> Iterator[sqlite3.Connection]:
        """A plain connection inside one ``BEGIN IMMEDIATE`` transaction: committed when the block
        ends, rolled back if it raises, closed either way. For the few writes that are not
        mutations (sync bookkeeping, drafts, derived tables); shared data goes through ``domain``."""
        connection = self.connect()
        try:
            connection.execute("BEGIN IMMEDIATE")
            yield connection
            connection.execute("COMMIT")
        finally:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            connection.close()

    @cached_property
    def engine(self) -> Engine:
        from supportdesk.store.engine import create_engine

        return create_engine(sqlite_url(self.db_path))

    def close(self) -> None:
        if "engine" in self.__dict__:
            self.engine.dispose()
            del self.__dict__["engine"]

    # --- small local facts ----------------------------------------------------------------

    def setting(self, key: str, default: Any = None) -> Any:
        with self.reading() as connection:
            return read_setting(connection, key, default)

    def set_setting(self, key: str, value: Any) -> None:
        """Store a local, per-workspace setting (not shared data, so not a mutation)."""
        with closing(self.connect()) as connection:
            connection.execute(
                "INSERT INTO workspace_setting(key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, json.dumps(value)),
            )

    def is_empty(self) -> bool:
        """True when the workspace holds no shared data yet."""
        with self.reading() as connection:
            for table in ("ticket", "customer", "agent", "macro", "kb_article"):
                if connection.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone():
                    return False
        return True


def read_setting(connection: sqlite3.Connection, key: str, default: Any = None) -> Any:
    row = connection.execute("SELECT value FROM workspace_setting WHERE key = ?", (key,)).fetchone()
    if row is None or row[0] is None:
        return default
    return json.loads(row[0])
