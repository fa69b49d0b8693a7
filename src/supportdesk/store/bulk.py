"""Bulk loading: drop secondary indexes and FTS triggers, insert, then build them once.

Inserting a million rows into a table with eight secondary indexes whose keys arrive in random
order (``(status, updated_at, id)`` …) thrashes the page cache; building each index once from
sorted data afterwards is several times faster. The demo generator and the sync bootstrap use
this; ordinary writes never do.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from supportdesk.store import fts, rollup

BULK_TABLES = ("ticket", "message", "ticket_tag", "audit_event", "customer", "identity", "ticket_seen")


@contextmanager
def bulk_load(connection: sqlite3.Connection, tables: tuple[str, ...] = BULK_TABLES) -> Iterator[None]:
    """Run inside an open write transaction; indexes and FTS are rebuilt before it commits.

    Only indexes with a ``CREATE INDEX`` statement are dropped: the automatic ones behind
    primary keys and UNIQUE constraints stay, so constraints are still enforced while loading.
    """
    placeholders = ",".join("?" * len(tables))
    saved = connection.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
        f"AND tbl_name IN ({placeholders}) ORDER BY name",
        tables,
    ).fetchall()
    for name, _sql in saved:
        connection.execute(f'DROP INDEX "{name}"')
    fts.drop_triggers(connection)
    rollup.drop_triggers(connection)
    yield
    for _name, sql in saved:
        connection.execute(sql)
    fts.rebuild_and_restore(connection)
    rollup.rebuild_and_restore(connection)
    # Fresh statistics: with several indexes on ticket, the planner needs them to pick well.
    connection.execute("PRAGMA analysis_limit=1000")
    connection.execute("ANALYZE")
