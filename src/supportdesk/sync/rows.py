"""Rows of shared tables as they travel between the server and a workspace.

On the wire a row is a JSON object of its columns: times as the store's UTC text
(``YYYY-MM-DD HH:MM:SS.ffffff``, the form SQLite already holds, so neither side parses them),
JSON columns as nested values, booleans as booleans. The server encodes what its driver returns
(text on SQLite, ``datetime`` on PostgreSQL); a workspace writes rows with plain ``sqlite3``
upserts (an ``UPDATE``, then an ``INSERT`` when no row was there). Neither ``INSERT OR REPLACE`` (its
implicit delete skips the full-text triggers' delete path) nor ``INSERT … ON CONFLICT DO
UPDATE`` (SQLite fires the BEFORE INSERT trigger and then the UPDATE triggers, so the old
full-text tokens are removed twice and the index is corrupted) is safe while the triggers are
installed; the true upsert is kept for bulk loads, which drop the triggers first.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from supportdesk.store.models import SHARED_TABLES
from supportdesk.store.times import to_db

#: Shared tables in an order that satisfies their foreign keys (parents first).
TABLE_ORDER: tuple[str, ...] = SHARED_TABLES


def _ticket_rows() -> tuple[str, ...]:
    from sqlmodel import SQLModel

    return tuple(name for name in SHARED_TABLES if name != "ticket" and "ticket_id" in SQLModel.metadata.tables[name].c)


#: Shared tables whose rows belong to one ticket through their ``ticket_id`` (tags, messages,
#: SLA timing, handle time, surveys), parents first. Derived, so a new table with a ticket_id
#: follows its ticket's visibility without anyone remembering to add it.
TICKET_ROWS: tuple[str, ...] = _ticket_rows()

#: Rows that belong to one ticket: who may see them follows the ticket (attachments through
#: their message).
TICKET_SCOPED = frozenset({"ticket", "attachment", *TICKET_ROWS})


@dataclass(frozen=True)
class TableSpec:
    """What the sync layer needs to know about one shared table."""

    name: str
    columns: tuple[str, ...]
    key: tuple[str, ...]
    times: frozenset[str]
    json: frozenset[str]
    booleans: frozenset[str]

    def key_of(self, row: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(row[name] for name in self.key)

    def entity_id(self, key: Sequence[Any]) -> str:
        """The change log's ``entity_id``: the first key column (a ticket's id for its tags)."""
        return str(key[0])


@cache
def spec(table_name: str) -> TableSpec:
    """The spec of a shared table, read from the SQLModel metadata (computed columns left out)."""
    from sqlalchemy import JSON, Boolean, DateTime
    from sqlmodel import SQLModel

    import supportdesk.store.models  # noqa: F401

    table = SQLModel.metadata.tables[table_name]
    columns = [c for c in table.columns if c.computed is None]
    return TableSpec(
        name=table_name,
        columns=tuple(c.name for c in columns),
        key=tuple(c.name for c in table.primary_key.columns),
        times=frozenset(c.name for c in columns if isinstance(c.type, DateTime) or _is_time(c.type)),
        json=frozenset(c.name for c in columns if isinstance(c.type, JSON)),
        booleans=frozenset(c.name for c in columns if isinstance(c.type, Boolean)),
    )


def _is_time(column_type: Any) -> bool:
    from sqlalchemy import DateTime

    impl = getattr(column_type, "impl", None)
    return isinstance(impl, DateTime) or impl is DateTime


# --- server side: encode what the driver returned -----------------------------------------------


def wire_value(table: TableSpec, column: str, value: Any) -> Any:
    """One column value in wire form, from whatever the database driver returned."""
    if value is None:
        return None
    if column in table.times:
        return to_db(value) if isinstance(value, datetime) else str(value)[:26]
    if column in table.json:
        return json.loads(value) if isinstance(value, str | bytes) else value
    if column in table.booleans:
        return bool(value)
    return value


def wire_row(table: TableSpec, values: Sequence[Any]) -> dict[str, Any]:
    """A row (values in ``table.columns`` order) as a wire object."""
    return {name: wire_value(table, name, value) for name, value in zip(table.columns, values, strict=True)}


# --- client side: write wire rows into a workspace -------------------------------------------------


def local_value(table: TableSpec, column: str, value: Any) -> Any:
    if value is None:
        return None
    if column in table.json:
        return json.dumps(value, ensure_ascii=False)
    if column in table.booleans:
        return 1 if value else 0
    return value


@cache
def upsert_sql(table_name: str) -> str:
    table = spec(table_name)
    names = ", ".join(table.columns)
    marks = ", ".join("?" * len(table.columns))
    updates = ", ".join(f"{c} = excluded.{c}" for c in table.columns if c not in table.key)
    conflict = ", ".join(table.key)
    action = f"DO UPDATE SET {updates}" if updates else "DO NOTHING"
    return f"INSERT INTO {table_name} ({names}) VALUES ({marks}) ON CONFLICT({conflict}) {action}"


@cache
def update_sql(table_name: str) -> str:
    table = spec(table_name)
    sets = ", ".join(f"{c} = ?" for c in table.columns if c not in table.key)
    where = " AND ".join(f"{c} = ?" for c in table.key)
    return f"UPDATE {table_name} SET {sets} WHERE {where}"


@cache
def insert_sql(table_name: str) -> str:
    table = spec(table_name)
    return f"INSERT INTO {table_name} ({', '.join(table.columns)}) VALUES ({', '.join('?' * len(table.columns))})"


def local_tuple(table: TableSpec, row: Mapping[str, Any]) -> tuple[Any, ...]:
    return tuple(local_value(table, name, row.get(name)) for name in table.columns)


_UNIQUE = re.compile(r"UNIQUE constraint failed: (.+)$")


def upsert_rows(connection: sqlite3.Connection, table_name: str, rows: Iterable[Mapping[str, Any]]) -> int:
    """Write server rows over the local copies; returns how many were written.

    The server is the authority: a local row that holds a unique value (an address, a name, a
    ticket number) the server gives to another row is stale, so it is removed first.
    """
    table = spec(table_name)
    count = 0
    for row in rows:
        _write_one(connection, table, local_tuple(table, row))
        count += 1
    return count


def _write_one(connection: sqlite3.Connection, table: TableSpec, values: tuple[Any, ...]) -> None:
    key_positions = [table.columns.index(name) for name in table.key]
    other = [v for i, v in enumerate(values) if i not in key_positions]
    key = [values[i] for i in key_positions]
    for _ in range(8):
        try:
            if other and connection.execute(update_sql(table.name), (*other, *key)).rowcount:
                return
            if (
                not other
                and connection.execute(
                    f"SELECT 1 FROM {table.name} WHERE {' AND '.join(f'{c} = ?' for c in table.key)}", key
                ).fetchone()
            ):
                return
            connection.execute(insert_sql(table.name), values)
            return
        except sqlite3.IntegrityError as error:
            match = _UNIQUE.search(str(error))
            if match is None:
                raise
            columns = [part.strip().split(".", 1)[1] for part in match.group(1).split(",")]
            if tuple(columns) == table.key:
                raise
            row = dict(zip(table.columns, values, strict=True))
            where = " AND ".join(f"{c} = ?" for c in columns)
            not_same = " OR ".join(f"{k} <> ?" for k in table.key)
            stale = connection.execute(
                f"SELECT {', '.join(table.key)} FROM {table.name} WHERE {where} AND ({not_same})",
                [row[c] for c in columns] + [row[k] for k in table.key],
            ).fetchall()
            for key in stale:
                delete_row(connection, table.name, tuple(key))
    raise sqlite3.IntegrityError(f"cannot write {table.name} row {values[0]!r}")


def delete_row(connection: sqlite3.Connection, table_name: str, key: Sequence[Any]) -> None:
    """Remove a local row; a ticket goes with its tags, messages and their attachments."""
    table = spec(table_name)
    if table_name == "ticket":
        delete_ticket(connection, str(key[0]))
        return
    if table_name == "message":
        connection.execute("DELETE FROM attachment WHERE message_id = ?", (key[0],))
    where = " AND ".join(f"{name} = ?" for name in table.key)
    connection.execute(f"DELETE FROM {table_name} WHERE {where}", tuple(key))


def delete_ticket(connection: sqlite3.Connection, ticket_id: str) -> None:
    """Remove a ticket with every row that belongs to it (children first, for the foreign keys).

    A draft the server refused is kept: it is what remains of a reply or note the agent wrote
    (often refused *because* the ticket moved out of their sight), and it comes back with the
    ticket if the ticket comes back into view. It is stamped with the ticket's requester, so
    an erasure of that customer still finds it once the ticket is gone from this store. A reply
    or note still in the outbox will be refused only after the ticket is gone (written while a
    round ran, between its push and its pull): the requester is remembered for it
    (:func:`left_requester`), so the draft it becomes is stamped too.
    """
    connection.execute(
        "UPDATE draft SET state = json_set(coalesce(state, '{}'), '$.requester_id', "
        "(SELECT requester_id FROM ticket WHERE id = ?1)) "
        "WHERE ticket_id = ?1 AND coalesce(json_extract(state, '$.refused'), 0) != 0 "
        "AND EXISTS (SELECT 1 FROM ticket WHERE id = ?1)",
        (ticket_id,),
    )
    connection.execute(
        "INSERT INTO workspace_setting (key, value) "
        "SELECT ?1 || id, json_quote(requester_id) FROM ticket WHERE id = ?2 AND requester_id IS NOT NULL "
        "AND EXISTS (SELECT 1 FROM outbox WHERE name IN ('ticket.reply', 'ticket.note') "
        "AND json_extract(args, '$.ticket_id') = ?2) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (LEFT_REQUESTER, ticket_id),
    )
    connection.execute(
        "DELETE FROM attachment WHERE message_id IN (SELECT id FROM message WHERE ticket_id = ?)", (ticket_id,)
    )
    for table_name in reversed(TICKET_ROWS):
        connection.execute(f"DELETE FROM {table_name} WHERE ticket_id = ?", (ticket_id,))
    connection.execute(
        "DELETE FROM draft WHERE ticket_id = ? AND coalesce(json_extract(state, '$.refused'), 0) = 0", (ticket_id,)
    )
    connection.execute("DELETE FROM ticket WHERE id = ?", (ticket_id,))


def ticket_files(connection: sqlite3.Connection, ticket_ids: Sequence[str]) -> set[str]:
    """The hashes of the files the tickets' messages name and their drafts staged, read before
    the tickets leave this store (:func:`supportdesk.sync.blob_cache.forget_files` removes the
    cached ones after, unless something still names them — a refused draft kept, another ticket).

    The drafts' files too: :func:`delete_ticket` deletes a ticket's drafts that were not refused,
    and a file staged in one (a scan attached to a reply not sent yet) was named by nothing after
    — on the agent's disk for good, out of a later erasure's reach (review14)."""
    from supportdesk.store.blobs import named_hashes

    hashes: set[str] = set()
    ids = list(dict.fromkeys(ticket_ids))
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ", ".join("?" * len(chunk))
        hashes.update(
            row[0]
            for row in connection.execute(
                "SELECT a.sha256 FROM attachment a JOIN message m ON m.id = a.message_id "
                f"WHERE m.ticket_id IN ({marks})",
                chunk,
            )
            if isinstance(row[0], str)
        )
        for (state,) in connection.execute(
            f"SELECT CAST(state AS BLOB) FROM draft WHERE ticket_id IN ({marks})", chunk
        ):
            hashes.update(named_hashes(state) if state else ())
    return hashes


#: ``workspace_setting`` keys (this prefix and a ticket id) naming the requester of a ticket that
#: left this store while a reply or note on it was still in the outbox (:func:`delete_ticket`).
LEFT_REQUESTER = "left_requester:"


def left_requester(connection: sqlite3.Connection, ticket_id: str) -> str | None:
    """The ticket's requester: from the ticket, or remembered when it left with outbox entries."""
    row = connection.execute(
        "SELECT requester_id FROM ticket WHERE id = ?1 UNION ALL "
        "SELECT json_extract(value, '$') FROM workspace_setting WHERE key = ?2 || ?1",
        (ticket_id, LEFT_REQUESTER),
    ).fetchone()
    return row[0] if row is not None and isinstance(row[0], str) else None


def forget_left_requesters(connection: sqlite3.Connection) -> None:
    """Drop what :func:`delete_ticket` remembered once no outbox entry is on the ticket: the
    refusals it was kept for were answered (a round keeps them as drafts before the rebase)."""
    connection.execute(
        "DELETE FROM workspace_setting WHERE key > ?1 AND key < ?1 || '~' AND NOT EXISTS "
        "(SELECT 1 FROM outbox WHERE json_extract(args, '$.ticket_id') = substr(key, length(?1) + 1))",
        (LEFT_REQUESTER,),
    )


def key_from_wire(table_name: str, key: Sequence[Any] | Mapping[str, Any]) -> tuple[Any, ...]:
    table = spec(table_name)
    if isinstance(key, Mapping):
        return tuple(key[name] for name in table.key)
    if len(key) != len(table.key):
        raise ValueError(f"{table_name} is keyed by {', '.join(table.key)}")
    return tuple(key)
