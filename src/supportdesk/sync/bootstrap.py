"""Bootstrap: fill an empty workspace from the server's snapshot, fast and resumably.

The NDJSON stream (rows already in the store's SQLite form) is written with ``executemany``
upserts on one raw connection, with the secondary indexes and the full-text triggers dropped
(both are built once at the end) and foreign keys off (the copy is filtered). Every chunk
commits together with the position reached (``sync_state.bootstrap``), so an interrupted
bootstrap resumes from the last committed row; rows that changed meanwhile are corrected by the
pull that follows, from the snapshot's cursor.

A *rescope* (the agent's groups or role changed, see ``SyncEngine``) runs the same stream over a
full workspace and, at the end, removes the local tickets the stream no longer holds. It needs
every visible ticket id from one run, so a resumed rescope restarts at the ticket table. It
leaves the cursor where it was: the pull that follows replays the log from there, so rows deleted
meanwhile (which no snapshot shows) are deleted here too.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from supportdesk.store import fts, rollup
from supportdesk.sync.blob_cache import forget_files
from supportdesk.sync.rows import TABLE_ORDER, delete_ticket, spec, ticket_files, upsert_sql

if TYPE_CHECKING:
    from supportdesk.store.workspace import Workspace
    from supportdesk.sync.client import ServerClient

Progress = Callable[[str, int, int], None]


@dataclass
class BootstrapSummary:
    rows: int
    cursor: int
    resumed: bool
    dropped: int = 0  # local tickets a rescope removed


def _secondary_indexes(connection: sqlite3.Connection) -> list[str]:
    """The CREATE statements of the shared tables' own indexes (not those of unique constraints)."""
    from supportdesk.store.models import SHARED_TABLES

    marks = ", ".join("?" * len(SHARED_TABLES))
    rows = connection.execute(
        f"SELECT sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ({marks})",
        SHARED_TABLES,
    )
    return [row[0] for row in rows]


def _index_name(create: str) -> str:
    return create.split(" ON ", 1)[0].split()[-1]


def _save(connection: sqlite3.Connection, progress: dict[str, Any]) -> None:
    connection.execute("UPDATE sync_state SET bootstrap = ? WHERE id = 1", (json.dumps(progress),))


def _after_tickets(table_name: str) -> bool:
    return TABLE_ORDER.index(table_name) >= TABLE_ORDER.index("ticket")


def _drop_unstreamed(connection: sqlite3.Connection) -> tuple[int, set[str]]:
    """Remove the local tickets a rescope's stream did not hold (``temp.rescope_seen``), with
    every row of theirs; returns how many, and the files they named (removed after the commit:
    :func:`~supportdesk.sync.blob_cache.forget_files`). A ticket a pending outbox entry refers to
    is kept (its mutation is yet to be answered); it leaves at the next change of scope."""
    gone = [
        ticket_id
        for (ticket_id,) in connection.execute(
            "SELECT id FROM ticket WHERE id NOT IN (SELECT id FROM temp.rescope_seen) "
            "AND id NOT IN (SELECT json_extract(t.key, '$[0]') FROM outbox_touched t, sync_state s "
            "  WHERE s.id = 1 AND t.tbl = 'ticket' AND t.outbox_id > s.last_acked_mutation_id) "
            "AND id NOT IN (SELECT json_extract(o.args, '$.ticket_id') FROM outbox o, sync_state s "
            "  WHERE s.id = 1 AND o.id > s.last_acked_mutation_id AND json_extract(o.args, '$.ticket_id') IS NOT NULL)"
        ).fetchall()
    ]
    files = ticket_files(connection, gone)
    for ticket_id in gone:
        delete_ticket(connection, ticket_id)
    return len(gone), files


def bootstrap(workspace: Workspace, client: ServerClient, *, progress: Progress | None = None) -> BootstrapSummary:
    """Load (or finish loading) the server's snapshot into ``workspace``."""
    from supportdesk.sync.local import read_state

    connection = workspace.connect()
    connection.execute("PRAGMA foreign_keys=OFF")
    try:
        state = read_state(connection).bootstrap
        rescope = bool(state.get("rescope"))
        if rescope and state.get("table") and _after_tickets(state["table"]):
            state = {**state, "table": "ticket", "after": None}
        resumed = bool(state.get("table"))
        if rescope:
            connection.execute("CREATE TEMP TABLE IF NOT EXISTS rescope_seen (id TEXT PRIMARY KEY) WITHOUT ROWID")
        indexes: list[str] = state.get("indexes") or _secondary_indexes(connection)
        fts.drop_triggers(connection)
        rollup.drop_triggers(connection)  # the report rollup is summed once at the end
        for create in indexes:
            connection.execute(f"DROP INDEX IF EXISTS {_index_name(create)}")
        done = int(state.get("done", 0))
        total = int(state.get("total", 0))
        cursor = int(state.get("cursor", 0))
        scope: str | None = None
        for line in client.bootstrap(state.get("table"), state.get("after")):
            kind = line["type"]
            if kind == "begin":
                scope = line.get("scope")
                if not resumed:
                    cursor = int(line["cursor"])
                    total = sum(int(n) for n in line["counts"].values())
            elif kind == "rows":
                table_name, columns, rows = line["table"], line["columns"], line["rows"]
                table = spec(table_name)
                if tuple(columns) == table.columns:
                    values = rows
                else:
                    positions = [columns.index(name) if name in columns else None for name in table.columns]
                    values = [[row[p] if p is not None else None for p in positions] for row in rows]
                last_row = dict(zip(columns, rows[-1], strict=True))
                done += len(rows)
                connection.execute("BEGIN IMMEDIATE")
                connection.executemany(upsert_sql(table_name), values)
                if rescope and table_name == "ticket":
                    at = columns.index("id")
                    connection.executemany(
                        "INSERT OR IGNORE INTO temp.rescope_seen VALUES (?)", [(r[at],) for r in rows]
                    )
                _save(
                    connection,
                    {
                        "cursor": cursor,
                        "table": table_name,
                        "after": [last_row[name] for name in table.key],
                        "done": done,
                        "total": max(total, done),
                        "indexes": indexes,
                        "rescope": rescope,
                    },
                )
                connection.execute("COMMIT")
                if progress:
                    progress("bootstrap", done, max(total, done))
            elif kind == "end":
                if progress:
                    progress("indexing", 0, 1)
                connection.execute("BEGIN IMMEDIATE")
                dropped, left = _drop_unstreamed(connection) if rescope else (0, set())
                for create in indexes:
                    connection.execute(create)
                fts.rebuild_and_restore(connection)
                rollup.rebuild_and_restore(connection)
                if not rescope:  # a rescope pulls on from the old cursor: the deletes since then are in no snapshot
                    connection.execute("UPDATE sync_state SET cursor = max(cursor, ?) WHERE id = 1", (cursor,))
                _save(connection, {"complete": True, "cursor": cursor, "rows": done, "scope": scope})
                connection.execute("COMMIT")
                forget_files(workspace, left)
                connection.execute("PRAGMA optimize")
                if progress:
                    progress("indexing", 1, 1)
                return BootstrapSummary(done, cursor, resumed, dropped)
        from supportdesk.sync.client import Offline

        raise Offline("the bootstrap stream ended early; run 'supportdesk sync' to resume it")
    finally:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        connection.execute("PRAGMA foreign_keys=ON")
        connection.close()
