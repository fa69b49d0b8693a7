"""Compare a replica with what the server holds for its agent, table by table, row by row."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from supportdesk.domain.context import Actor
from supportdesk.server.db import ServerDatabase
from supportdesk.server.reads import bootstrap_chunks, snapshot
from supportdesk.server.tokens import load_actor
from supportdesk.store.workspace import Workspace
from supportdesk.sync.rows import TABLE_ORDER, spec, wire_row

Snapshot = dict[str, dict[tuple[Any, ...], dict[str, Any]]]


def server_actor(database: ServerDatabase, agent_id: str) -> Actor:
    with database.engine.connect() as connection:
        actor = load_actor(connection, agent_id)
    assert actor is not None
    return actor


def server_view(database: ServerDatabase, agent_id: str) -> Snapshot:
    """Every shared row the agent may see on the server, in wire form."""
    actor = server_actor(database, agent_id)
    view: Snapshot = {name: {} for name in TABLE_ORDER}
    with snapshot(database) as connection:
        for table_name, _columns, rows in bootstrap_chunks(connection, actor):
            table = spec(table_name)
            for values in rows:
                row = wire_row(table, values)
                view[table_name][table.key_of(row)] = row
    return view


def replica_view(workspace: Workspace) -> Snapshot:
    view: Snapshot = {}
    with workspace.reading() as connection:
        for table_name in TABLE_ORDER:
            table = spec(table_name)
            rows = connection.execute(f"SELECT {', '.join(table.columns)} FROM {table_name}").fetchall()
            view[table_name] = {}
            for values in rows:
                row = wire_row(table, tuple(values))
                view[table_name][table.key_of(row)] = row
    return view


def differences(expected: Snapshot, actual: Snapshot, limit: int = 5) -> list[str]:
    """Readable differences (at most ``limit``); empty when the two are equal."""
    found: list[str] = []
    for table_name in TABLE_ORDER:
        want, have = expected.get(table_name, {}), actual.get(table_name, {})
        for key in sorted(set(want) | set(have), key=repr):
            if want.get(key) != have.get(key):
                if key not in have:
                    found.append(f"{table_name} {key}: missing in the replica")
                elif key not in want:
                    found.append(f"{table_name} {key}: in the replica but not on the server")
                else:
                    fields = [c for c in want[key] if want[key][c] != have[key].get(c)]
                    detail = ", ".join(f"{c}: server {want[key][c]!r} replica {have[key].get(c)!r}" for c in fields)
                    found.append(f"{table_name} {key}: {detail}")
                if len(found) >= limit:
                    return found
    return found


def server_count(database: ServerDatabase, sql: str, **params: Any) -> int:
    with database.engine.connect() as connection:
        return int(connection.execute(text(sql), params).scalar() or 0)
