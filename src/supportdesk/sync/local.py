"""The workspace side of sync: its sync state, its outbox, and one-transaction writes.

A workspace holds a *filtered* copy of the server (only what its agent may see), so a pulled
row may point at a row the workspace will never have (a ticket merged into another group's
ticket). Sync writes therefore run with foreign keys off; the server checked them.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from supportdesk.store.workspace import Workspace


@dataclass(frozen=True)
class SyncState:
    client_id: str
    server_url: str | None
    profile: str | None
    cursor: int
    last_acked: int
    bootstrap: dict[str, Any]
    last_error: str | None
    last_pull_at: str | None = None  # the store's UTC text

    @property
    def bootstrapped(self) -> bool:
        return bool(self.bootstrap.get("complete"))

    @property
    def scope(self) -> str | None:
        """The server's fingerprint of what the agent could see when this copy was filled."""
        scope = self.bootstrap.get("scope")
        return str(scope) if scope else None


def read_state(connection: sqlite3.Connection) -> SyncState:
    row = connection.execute(
        "SELECT client_id, server_url, profile, cursor, last_acked_mutation_id, bootstrap, last_error, "
        "last_pull_at FROM sync_state WHERE id = 1"
    ).fetchone()
    return SyncState(
        client_id=row[0],
        server_url=row[1],
        profile=row[2],
        cursor=int(row[3]),
        last_acked=int(row[4]),
        bootstrap=json.loads(row[5]) if row[5] else {},
        last_error=row[6],
        last_pull_at=row[7],
    )


def state(workspace: Workspace) -> SyncState:
    with workspace.reading() as connection:
        return read_state(connection)


def set_error(workspace: Workspace, message: str | None) -> None:
    from supportdesk.store.times import to_db, utcnow

    with _autocommit(workspace) as connection:
        if message is None:
            connection.execute(
                "UPDATE sync_state SET last_error = NULL, last_pull_at = ? WHERE id = 1", (to_db(utcnow()),)
            )
        else:
            # written only when it changes: a console retrying offline must not look like news
            connection.execute(
                "UPDATE sync_state SET last_error = ?1 WHERE id = 1 AND last_error IS NOT ?1", (message[:1000],)
            )


def set_acked(workspace: Workspace, last_acked: int) -> None:
    from supportdesk.store.times import to_db, utcnow

    with _autocommit(workspace) as connection:
        connection.execute(
            "UPDATE sync_state SET last_acked_mutation_id = max(last_acked_mutation_id, ?), last_push_at = ? "
            "WHERE id = 1",
            (last_acked, to_db(utcnow())),
        )


def start_rescope(workspace: Workspace) -> None:
    """Mark the copy for filling again under a new scope: the next bootstrap run (or its resumption
    after an interruption) upserts everything visible and removes what no longer is."""
    with _autocommit(workspace) as connection:
        connection.execute("UPDATE sync_state SET bootstrap = ? WHERE id = 1", (json.dumps({"rescope": True}),))


def adopt_scope(workspace: Workspace, scope: str) -> None:
    """Remember the scope of a copy filled before servers reported one (nothing to fill again)."""
    with _autocommit(workspace) as connection:
        connection.execute("UPDATE sync_state SET bootstrap = json_set(bootstrap, '$.scope', ?) WHERE id = 1", (scope,))


#: The ``workspace_setting`` holding where the cursor stood before pokes moved it without a pull
#: (absent when a pull confirmed the cursor): a poke's seq is the server's word, so the next pull
#: checks the log reaches it, and rewinds to here when it does not (ARCHITECTURE.md, "Pokes that
#: carry records"). A setting, not a column of ``sync_state``: no migration, and a bootstrap's
#: rewrite of the sync state's ``bootstrap`` leaves it alone.
POKED_FROM = "sync.poked_from"


def poked_from(connection: sqlite3.Connection) -> int | None:
    """Where the cursor stood before pokes moved it, or None when a pull confirmed it since."""
    row = connection.execute("SELECT value FROM workspace_setting WHERE key = ?", (POKED_FROM,)).fetchone()
    value = row[0] if row is not None else None
    if isinstance(value, str | bytes):  # the JSON column's affinity stores the number as one, but
        try:  # a value written as text must not stop every round
            value = json.loads(value)
        except ValueError:
            return 0  # unreadable: pull again from the start of the log rather than trust the cursor
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def remember_poked_from(connection: sqlite3.Connection, cursor: int) -> None:
    """Record ``cursor`` as unconfirmed-since, unless an earlier position is recorded already."""
    connection.execute(
        "INSERT INTO workspace_setting(key, value) VALUES (?, ?) ON CONFLICT(key) DO NOTHING",
        (POKED_FROM, json.dumps(cursor)),
    )


def forget_poked_from(connection: sqlite3.Connection) -> None:
    connection.execute("DELETE FROM workspace_setting WHERE key = ?", (POKED_FROM,))


def confirm_cursor(workspace: Workspace) -> None:
    """A pull found the log reaching the cursor: what pokes said is confirmed."""
    with _autocommit(workspace) as connection:
        forget_poked_from(connection)


def rewind_cursor(workspace: Workspace, to: int, since: int) -> bool:
    """Move the cursor back to ``to`` (a pull found the log ending before where pokes put it),
    only if it is still at ``since``; the next pull brings again what lies after ``to``."""
    with _autocommit(workspace) as connection:
        moved = connection.execute("UPDATE sync_state SET cursor = ? WHERE id = 1 AND cursor = ?", (to, since)).rowcount
        forget_poked_from(connection)
    return bool(moved)


@contextmanager
def _autocommit(workspace: Workspace) -> Iterator[sqlite3.Connection]:
    connection = workspace.connect()
    try:
        yield connection
    finally:
        connection.close()


@dataclass(frozen=True)
class Pending:
    id: int
    name: str
    args: dict[str, Any]
    actor_id: str | None


def pending(connection: sqlite3.Connection, after: int, limit: int | None = None) -> list[Pending]:
    sql = "SELECT id, name, args, actor_id FROM outbox WHERE id > ? ORDER BY id"
    params: tuple[Any, ...] = (after,)
    if limit is not None:
        sql += " LIMIT ?"
        params = (after, limit)
    return [Pending(r[0], r[1], json.loads(r[2]), r[3]) for r in connection.execute(sql, params)]


def pending_count(workspace: Workspace) -> int:
    with workspace.reading() as connection:
        last = connection.execute("SELECT last_acked_mutation_id FROM sync_state WHERE id = 1").fetchone()[0]
        return int(connection.execute("SELECT count(*) FROM outbox WHERE id > ?", (last,)).fetchone()[0])


def touched_keys(connection: sqlite3.Connection) -> set[tuple[str, tuple[Any, ...]]]:
    """Every row some outbox entry (pending or acknowledged, not yet dropped) changed locally."""
    return {(table, tuple(json.loads(key))) for table, key in connection.execute("SELECT tbl, key FROM outbox_touched")}


@contextmanager
def sync_transaction(workspace: Workspace) -> Iterator[tuple[Connection, sqlite3.Connection]]:
    """One ``BEGIN IMMEDIATE`` transaction with foreign keys off (see the module docstring).

    Yields the SQLAlchemy connection (for re-running mutators) and its raw sqlite3 connection
    (for bulk row writes) — both the same transaction.
    """
    with workspace.engine.connect() as connection:
        raw: sqlite3.Connection = connection.connection.driver_connection  # type: ignore[assignment]
        raw.execute("PRAGMA foreign_keys=OFF")
        try:
            with connection.begin():
                yield connection, raw
        finally:
            raw.execute("PRAGMA foreign_keys=ON")
