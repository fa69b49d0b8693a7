"""What the server reads for clients: pulls, row refreshes and the bootstrap snapshot.

Every read is filtered by :mod:`supportdesk.server.visibility`. Reads run in one snapshot:
a read transaction on SQLite, REPEATABLE READ on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, text

from supportdesk.domain.context import Actor
from supportdesk.domain.tx import table as sa_table
from supportdesk.protocol import Change, PullResponse, RowKey, RowState
from supportdesk.server.changes import read_row
from supportdesk.server.visibility import record_visible, sees_ticket, ticket_condition, visibility_scope
from supportdesk.sync.rows import TABLE_ORDER, TICKET_ROWS, TICKET_SCOPED, spec, wire_value

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from supportdesk.server.db import ServerDatabase


@contextmanager
def snapshot(database: ServerDatabase) -> Iterator[Connection]:
    """A connection whose reads all see one consistent state."""
    with database.read_engine.connect() as connection:
        if database.is_postgres:
            connection = connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin() as transaction:
            yield connection
            transaction.rollback()


def _last_mutation_id(connection: Connection, client_id: str | None, actor: Actor) -> int:
    if not client_id:
        return 0
    row = connection.execute(
        text("SELECT agent_id, last_mutation_id FROM sync_client WHERE client_id = :c"), {"c": client_id}
    ).first()
    if row is None or row[0] != actor.id:
        return 0
    return int(row[1])


def _candidates(log: Any, actor: Actor) -> Any:
    """A SQL condition on change-log records that keeps every record ``actor`` may see and
    leaves out the ticket rows of groups they are not in, so a pull neither reads nor decodes
    other groups' messages (with 1,000 agents in 20 groups, most of the log). A superset:
    :func:`record_visible` still decides each record (tickets assigned across groups, saved
    views)."""
    from sqlalchemy import or_

    if actor.is_admin or actor.is_system:
        return None
    return or_(
        log.c.group_id.is_(None),
        log.c.group_id.in_(sorted(actor.group_ids)),
        log.c.entity == "ticket",  # assigned to them from another group: record_visible decides
        log.c.op.in_(("hide", "reveal")),
    )


def pull(database: ServerDatabase, actor: Actor, *, cursor: int, limit: int, client_id: str | None) -> PullResponse:
    """The changes after ``cursor`` that ``actor`` may see, at most ``limit`` records read.

    The log's end is read first and bounds the records: every seq up to it has committed (seq
    order is commit order), so when fewer than ``limit`` records come back the cursor moves to
    that end, past the other groups' records no query returned.
    """
    log = sa_table("change_log")
    with snapshot(database) as connection:
        last_mutation_id = _last_mutation_id(connection, client_id, actor)
        end = int(connection.execute(text("SELECT value FROM counter WHERE name = 'seq'")).scalar() or 0)
        query = select(log.c.seq, log.c.entity, log.c.op, log.c.data, log.c.group_id).where(
            log.c.seq > cursor, log.c.seq <= end
        )
        condition = _candidates(log, actor)
        if condition is not None:
            query = query.where(condition)
        rows = connection.execute(query.order_by(log.c.seq).limit(limit)).all()
        changes = visible_changes(connection, actor, rows)
        more = len(rows) == limit
        new_cursor = rows[-1][0] if more else max(cursor, end)
    return PullResponse(
        changes=changes,
        cursor=new_cursor,
        more=more,
        last_mutation_id=last_mutation_id,
        scope=visibility_scope(actor),
    )


LogRow = tuple[int, str, str, dict[str, Any], str | None]
"""One change-log record as read: seq, entity, op, data, group_id."""


def visible_changes(connection: Connection, actor: Actor, rows: Sequence[Any]) -> list[Change]:
    """The records of ``rows`` (in seq order) that ``actor`` may see, as a pull hands them out:
    :func:`record_visible` decides each, a ``reveal`` brings the ticket's rows. A pull and a
    poke that carries records (:mod:`supportdesk.server.events`) both go through here, so they
    can never disagree on what an agent is given."""
    changes: list[Change] = []
    for seq, entity, op, data, group_id in rows:
        if not record_visible(actor, entity, op, data, group_id):
            continue
        if op == "reveal":
            data = {"ticket_id": data["ticket_id"], "rows": ticket_bundle(connection, actor, data["ticket_id"])}
        changes.append(Change(seq=seq, entity=entity, op=op, data=data))
    return changes


def log_range(connection: Connection, first: int, last: int) -> list[LogRow] | None:
    """Every change-log record of seqs (``first``, ``last``], unfiltered, in seq order; None when
    ``last`` is past the counter (not committed yet in this snapshot: never hand out a gap)."""
    if current_seq(connection) < last:
        return None
    log = sa_table("change_log")
    query = select(log.c.seq, log.c.entity, log.c.op, log.c.data, log.c.group_id).where(
        log.c.seq > first, log.c.seq <= last
    )
    return [tuple(row) for row in connection.execute(query.order_by(log.c.seq)).all()]


def ticket_bundle(connection: Connection, actor: Actor, ticket_id: str) -> dict[str, list[dict[str, Any]]]:
    """A ticket with every row that belongs to it (tags, messages, attachments, SLA timing,
    handle time, surveys), for a client that just gained sight of it."""
    ticket = read_row(connection, "ticket", (ticket_id,))
    if ticket is None or not sees_ticket(actor, ticket["group_id"], ticket["assignee_id"]):
        return {}
    bundle: dict[str, list[dict[str, Any]]] = {"ticket": [ticket]}
    conditions = {name: "ticket_id = :t" for name in TICKET_ROWS}
    conditions["attachment"] = "message_id IN (SELECT id FROM message WHERE ticket_id = :t)"
    for table_name, condition in sorted(conditions.items(), key=lambda item: TABLE_ORDER.index(item[0])):
        table = spec(table_name)
        found = connection.execute(
            text(f"SELECT {', '.join(table.columns)} FROM {table_name} WHERE {condition}"), {"t": ticket_id}
        )
        bundle[table_name] = [
            {name: wire_value(table, name, value) for name, value in zip(table.columns, values, strict=True)}
            for values in found
        ]
    return bundle


def _ticket_id_for(connection: Connection, table_name: str, row: dict[str, Any]) -> str | None:
    if table_name == "ticket":
        return str(row["id"])
    if table_name != "attachment":
        return str(row["ticket_id"])
    found = connection.execute(text("SELECT ticket_id FROM message WHERE id = :m"), {"m": row["message_id"]}).first()
    return found[0] if found else None


def row_states(database: ServerDatabase, actor: Actor, keys: Sequence[RowKey]) -> list[RowState]:
    """The current server rows for ``keys``; a row the caller may not see reads as missing."""
    from supportdesk.sync.rows import key_from_wire

    states: list[RowState] = []
    with snapshot(database) as connection:
        for item in keys:
            key = key_from_wire(item.table, item.key)
            row = read_row(connection, item.table, key)
            if row is not None and not row_visible(connection, actor, item.table, row):
                row = None
            states.append(RowState(table=item.table, key=list(key), row=row))
    return states


def row_visible(connection: Connection, actor: Actor, table_name: str, row: dict[str, Any]) -> bool:
    if table_name in TICKET_SCOPED:
        ticket_id = _ticket_id_for(connection, table_name, row)
        found = (
            connection.execute(text("SELECT group_id, assignee_id FROM ticket WHERE id = :t"), {"t": ticket_id}).first()
            if ticket_id
            else None
        )
        return found is not None and sees_ticket(actor, found[0], found[1])
    if table_name == "saved_view":
        return row["owner_id"] in (None, actor.id) or actor.is_admin or actor.is_system
    return True


# --- bootstrap --------------------------------------------------------------------------------

BOOTSTRAP_CHUNK = 5000


def _scope(actor: Actor, table_name: str) -> tuple[str, str, dict[str, Any]]:
    """FROM clause (aliased ``x``), extra WHERE and parameters for one table's visible rows."""
    condition, params = ticket_condition(actor)
    everything = actor.is_admin or actor.is_system
    if table_name == "ticket" and not everything:
        return "ticket x JOIN ticket t ON t.id = x.id", condition, params
    if table_name in TICKET_ROWS and not everything:
        return f"{table_name} x JOIN ticket t ON t.id = x.ticket_id", condition, params
    if table_name == "attachment" and not everything:
        return (
            "attachment x JOIN message m ON m.id = x.message_id JOIN ticket t ON t.id = m.ticket_id",
            condition,
            params,
        )
    if table_name == "saved_view" and not everything:
        return "saved_view x", "(x.owner_id IS NULL OR x.owner_id = :vis_me)", {"vis_me": actor.id}
    return f"{table_name} x", "1 = 1", {}


def bootstrap_counts(connection: Connection, actor: Actor, tables: Sequence[str]) -> dict[str, int]:
    counts = {}
    for table_name in tables:
        source, condition, params = _scope(actor, table_name)
        counts[table_name] = int(
            connection.execute(text(f"SELECT count(*) FROM {source} WHERE {condition}"), params).scalar() or 0
        )
    return counts


def bootstrap_chunks(
    connection: Connection,
    actor: Actor,
    *,
    start_table: str | None = None,
    after: Sequence[Any] | None = None,
) -> Iterator[tuple[str, tuple[str, ...], list[list[Any]]]]:
    """The visible rows of every shared table, in key order, in chunks of raw driver values.

    ``start_table`` and ``after`` (the key of the last row a client already has) resume an
    interrupted bootstrap where it stopped.
    """
    tables = list(TABLE_ORDER)
    if start_table is not None:
        tables = tables[tables.index(start_table) :]
    for table_name in tables:
        table = spec(table_name)
        source, condition, params = _scope(actor, table_name)
        key_columns = ", ".join(f"x.{name}" for name in table.key)
        key_marks = ", ".join(f":after{index}" for index in range(len(table.key)))
        last: Sequence[Any] | None = after if table_name == start_table else None
        columns = ", ".join(f"x.{name}" for name in table.columns)
        while True:
            where = condition
            query_params = dict(params)
            if last is not None:
                where += f" AND ({key_columns}) > ({key_marks})"
                query_params.update({f"after{index}": value for index, value in enumerate(last)})
            rows = connection.execute(
                text(f"SELECT {columns} FROM {source} WHERE {where} ORDER BY {key_columns} LIMIT {BOOTSTRAP_CHUNK}"),
                query_params,
            ).all()
            if not rows:
                break
            yield table_name, table.columns, [list(row) for row in rows]
            if len(rows) < BOOTSTRAP_CHUNK:
                break
            last = [rows[-1][table.columns.index(name)] for name in table.key]


def current_seq(connection: Connection) -> int:
    return int(connection.execute(text("SELECT value FROM counter WHERE name = 'seq'")).scalar() or 0)
