"""Bootstrap: fill an empty workspace from the server's snapshot, fast and resumably.

The NDJSON stream (rows already in the store's SQLite form) is written with ``executemany``
upserts on one raw connection, with the secondary indexes and the full-text triggers dropped
(both are built once at the end) and foreign keys off (the copy is filtered). Every chunk
commits together with the position reached (``sync_state.bootstrap``), so an interrupted
bootstrap resumes from the last committed row; rows that changed meanwhile are corrected by the
pull that follows, from the snapshot's cursor.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from supportdesk.store import fts
from supportdesk.sync.rows import spec, upsert_sql

if TYPE_CHECKING:
    from supportdesk.store.workspace import Workspace
    from supportdesk.sync.client import ServerClient

Progress = Callable[[str, int, int], None]


@dataclass
class BootstrapSummary:
    rows: int
    cursor: int
    resumed: bool


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


def bootstrap(workspace: Workspace, client: ServerClient, *, progress: Progress | None = None) -> BootstrapSummary:
    """Load (or finish loading) the server's snapshot into ``workspace``."""
    from supportdesk.sync.local import read_state

    connection = workspace.connect()
    connection.execute("PRAGMA foreign_keys=OFF")
    try:
        state = read_state(connection).bootstrap
        resumed = bool(state.get("table"))
        indexes: list[str] = state.get("indexes") or _secondary_indexes(connection)
        fts.drop_triggers(connection)
        for create in indexes:
            connection.execute(f"DROP INDEX IF EXISTS {_index_name(create)}")
        done = int(state.get("done", 0))
        total = int(state.get("total", 0))
        cursor = int(state.get("cursor", 0))
        for line in client.bootstrap(state.get("table"), state.get("after")):
            kind = line["type"]
            if kind == "begin":
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
                _save(
                    connection,
                    {
                        "cursor": cursor,
                        "table": table_name,
                        "after": [last_row[name] for name in table.key],
                        "done": done,
                        "total": max(total, done),
                        "indexes": indexes,
                    },
                )
                connection.execute("COMMIT")
                if progress:
                    progress("bootstrap", done, max(total, done))
            elif kind == "end":
                if progress:
                    progress("indexing", 0, 1)
                connection.execute("BEGIN IMMEDIATE")
                for create in indexes:
                    connection.execute(create)
                fts.rebuild_and_restore(connection)
                connection.execute("UPDATE sync_state SET cursor = max(cursor, ?) WHERE id = 1", (cursor,))
                _save(connection, {"complete": True, "cursor": cursor, "rows": done})
                connection.execute("COMMIT")
                connection.execute("PRAGMA optimize")
                if progress:
                    progress("indexing", 1, 1)
                return BootstrapSummary(done, cursor, resumed)
        from supportdesk.sync.client import Offline

        raise Offline("the bootstrap stream ended early; run 'supportdesk sync' to resume it")
    finally:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        connection.execute("PRAGMA foreign_keys=ON")
        connection.close()
