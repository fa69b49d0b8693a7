"""The change log: what a server write changed, as records every client can pull.

Each record carries the whole row as it stands after the write (so applying records in seq
order converges, whatever a client missed in between) and the group of the ticket it belongs
to (so a pull can leave out what the caller may not see). The seq comes from the one-row
counter ``seq``, incremented as the last step of the write transaction: its row lock is held
until commit, so on PostgreSQL too a higher seq never commits before a lower one.

An erasure (``customer.erase``) also rewrites history: every earlier record of a row it touched
is erased the same way (:func:`erase_history`), so a pull from cursor 0 hands out nothing of the
person, and its last record is a tombstone (``op = "erase"``) that tells every replica to forget
what it kept beside the rows (:mod:`supportdesk.sync.erasure`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

from supportdesk.domain.mutations.privacy import ANONYMISED, DELETED, ERASE, anonymised_row
from supportdesk.domain.tx import insert_into
from supportdesk.domain.tx import table as sa_table
from supportdesk.store import prepared
from supportdesk.store.models import SHARED_TABLES
from supportdesk.store.prepared import run_sql
from supportdesk.sync.rows import TICKET_SCOPED, spec, wire_row

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from supportdesk.domain.tx import Tx


@dataclass
class Record:
    entity: str
    entity_id: str
    op: str
    data: dict[str, Any]
    group_id: str | None


def read_row(connection: Connection, table_name: str, key: Sequence[Any]) -> dict[str, Any] | None:
    """One row in wire form, or None when it does not exist."""
    found = run_sql(connection, _by_key(table_name), tuple(key), fetch=True)
    return wire_row(spec(table_name), found[0]) if found else None


@cache
def _by_key(table_name: str) -> str:
    """The SQL reading a shared table's wire columns of one row by its whole key."""
    table = spec(table_name)
    where = " AND ".join(f"{name} = ?" for name in table.key)
    return f"SELECT {', '.join(table.columns)} FROM {table_name} WHERE {where}"


@cache
def _by_keys(table_name: str, count: int) -> str:
    """The SQL reading the wire columns of ``count`` rows of a one-column-key table."""
    table = spec(table_name)
    marks = ", ".join("?" * count)
    return f"SELECT {', '.join(table.columns)} FROM {table_name} WHERE {table.key[0]} IN ({marks})"


class TicketFacts:
    """Group and assignee of tickets, read once per write (or taken from a ticket row read anyway)."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._tickets: dict[str, tuple[str | None, str | None]] = {}
        self._messages: dict[str, str | None] = {}

    def know(self, ticket: dict[str, Any]) -> None:
        """A ticket's wire row just read: its group and assignee need no query of their own."""
        self._tickets[str(ticket["id"])] = (ticket["group_id"], ticket["assignee_id"])

    def of_ticket(self, ticket_id: str | None) -> tuple[str | None, str | None]:
        if ticket_id is None:
            return None, None
        if ticket_id not in self._tickets:
            found = run_sql(
                self.connection, "SELECT group_id, assignee_id FROM ticket WHERE id = ?", (ticket_id,), fetch=True
            )
            self._tickets[ticket_id] = (found[0][0], found[0][1]) if found else (None, None)
        return self._tickets[ticket_id]

    def ticket_of_message(self, message_id: str) -> str | None:
        if message_id not in self._messages:
            found = run_sql(self.connection, "SELECT ticket_id FROM message WHERE id = ?", (message_id,), fetch=True)
            self._messages[message_id] = found[0][0] if found else None
        return self._messages[message_id]

    def ticket_id(self, entity: str, row: dict[str, Any] | None, key: Sequence[Any]) -> str | None:
        """The ticket a row of a ticket-scoped table belongs to (None: a deleted row keyed otherwise)."""
        if entity == "ticket" or spec(entity).key[0] == "ticket_id":
            return str(key[0])
        if row is None:
            return None
        if entity == "attachment":
            return self.ticket_of_message(row["message_id"])
        return str(row["ticket_id"])


Key = tuple[str, tuple[Any, ...]]


@dataclass
class Pending:
    """One mutation's change records before their rows are read (see :func:`resolve`): the shared
    rows it touched, in order, the tickets it moved (``ticket_id`` → ``from`` and ``to``: group
    and assignee before and right after this mutation), and the erasure tombstone it made."""

    keys: list[Key]
    moves: dict[str, dict[str, Any]]
    erased: list[Record]


def records_for(connection: Connection, tx: Tx) -> list[Record]:
    """The change records of one mutation just run on ``connection``."""
    return resolve(connection, [pending_for(connection, tx)])[0]


def pending_for(connection: Connection, tx: Tx) -> Pending:
    """What :func:`resolve` needs to make one mutation's records, taken right after it ran.

    Its rows are read later — for a whole push at once, as they stand when the push commits
    (one query per table, and a row several mutations touched is sent once); whatever a client
    pulls is what committed, so no state in between could be seen anyway.
    """
    touched: dict[Key, None] = {}
    for item in tx.touched:
        if item.table in SHARED_TABLES:
            touched.setdefault((item.table, tuple(item.key)), None)
    erased = erase_history(connection, tx) if tx.mutation == ERASE else []
    return Pending(list(touched), _moves(connection, _moved(tx)), erased)


def resolve(connection: Connection, pendings: Sequence[Pending]) -> list[list[Record]]:
    """The records of these mutations, in order: each row once, at the last mutation that touched
    it, then each mutation's ``hide`` / ``reveal`` moves and its erasure tombstone."""
    last: dict[Key, int] = {}
    for index, pending in enumerate(pendings):
        for key in pending.keys:
            last[key] = index
    facts = TicketFacts(connection)
    rows = _read_rows(connection, list(last), facts)
    result: list[list[Record]] = []
    for index, pending in enumerate(pendings):
        records: list[Record] = []
        for table_name, key in pending.keys:
            if last[(table_name, key)] != index:
                continue
            row = rows.get((table_name, key))
            group_id = None
            if table_name in TICKET_SCOPED:
                group_id = facts.of_ticket(facts.ticket_id(table_name, row, key))[0]
            entity_id = spec(table_name).entity_id(key)
            if row is None:
                records.append(Record(table_name, entity_id, "delete", {"key": list(key)}, group_id))
            else:
                records.append(Record(table_name, entity_id, "upsert", row, group_id))
        records.extend(_visibility_moves(pending.moves))
        records.extend(pending.erased)
        result.append(records)
    return result


def _read_rows(connection: Connection, keys: list[Key], facts: TicketFacts) -> dict[Key, dict[str, Any]]:
    """The wire rows of ``keys`` that exist: one query per table for one-column keys."""
    by_table: dict[str, list[tuple[Any, ...]]] = {}
    for table_name, key in keys:
        by_table.setdefault(table_name, []).append(key)
    rows: dict[Key, dict[str, Any]] = {}
    for table_name, table_keys in by_table.items():
        table = spec(table_name)
        if len(table.key) != 1 or len(table_keys) == 1:
            for key in table_keys:
                row = read_row(connection, table_name, key)
                if row is not None:
                    rows[(table_name, key)] = row
        else:
            wanted = {str(key[0]): key for key in table_keys}
            for start in range(0, len(table_keys), 500):
                chunk = sorted(wanted)[start : start + 500]
                found = run_sql(connection, _by_keys(table_name, len(chunk)), chunk, fetch=True)
                position = table.columns.index(table.key[0])
                for values in found:
                    rows[(table_name, wanted[str(values[position])])] = wire_row(table, tuple(values))
        if table_name == "ticket":
            for key in table_keys:
                if (row := rows.get((table_name, key))) is not None:
                    facts.know(row)
    return rows


def erase_history(connection: Connection, tx: Tx) -> list[Record]:
    """Erase what the log already holds of the rows an erasure touched; returns its tombstone.

    Earlier upserts of anonymised rows (customer records, tickets, messages, surveys) keep
    their place in seq order with the personal columns erased, exactly as the tables now hold
    them; earlier upserts of deleted rows (addresses, attachments) become deletes, and so do the
    upserts of addresses the person had removed before. The tombstone names the records erased
    (ids only) and goes to every caller: customers are visible to all.
    """
    erased = [a.entity_id for a in tx.audited if a.entity == "customer" and a.field == "erased"]
    if not erased:
        return []
    log = sa_table("change_log")
    keys: dict[str, set[str]] = {}
    for item in tx.touched:
        if item.table in ANONYMISED or item.table in DELETED:
            keys.setdefault(item.table, set()).add(spec(item.table).entity_id(item.key))
    people = sorted(keys.get("customer", set()))
    found: list[tuple[int, str, dict[str, Any]]] = []
    for table_name, ids in keys.items():
        ordered = sorted(ids)
        for start in range(0, len(ordered), 500):
            found += [
                (row[0], table_name, row[1])
                for row in connection.execute(
                    select(log.c.seq, log.c.data).where(
                        log.c.entity == table_name,
                        log.c.entity_id.in_(ordered[start : start + 500]),
                        log.c.op == "upsert",
                    )
                )
            ]
    for start in range(0, len(people), 500):
        found += [
            (row[0], "identity", row[1])
            for row in connection.execute(
                select(log.c.seq, log.c.data).where(
                    log.c.entity == "identity",
                    log.c.op == "upsert",
                    log.c.data["customer_id"].as_string().in_(people[start : start + 500]),
                )
            )
        ]
    rewritten: set[int] = set()
    for seq, table_name, data in found:
        if seq in rewritten or not isinstance(data, dict):
            continue
        rewritten.add(seq)
        if table_name in DELETED:
            values: dict[str, Any] = {"op": "delete", "data": {"key": list(spec(table_name).key_of(data))}}
        else:
            scrubbed = anonymised_row(table_name, data)
            if scrubbed == data:
                continue
            values = {"data": scrubbed}
        connection.execute(update(log).where(log.c.seq == seq).values(**values))
    tombstone = {"customer_id": erased[0], "records": people}
    return [Record("customer", erased[0], "erase", tombstone, None)]


def _moved(tx: Tx) -> dict[str, dict[str, Any]]:
    """The group and assignee before this mutation of each ticket it changed either of.

    Read from the mutation's own audit records in memory — what its ``audit_event`` rows hold
    (a rule's actions audit under their own reference, and are not moves of this mutation)."""
    if not tx.context.mutation_ref:
        return {}
    updated = {str(item.key[0]) for item in tx.touched if item.table == "ticket" and item.op == "update"}
    before: dict[str, dict[str, Any]] = {}
    for record in tx.audited:
        if record.entity == "ticket" and record.field in ("group_id", "assignee_id") and record.entity_id in updated:
            before.setdefault(record.entity_id, {}).setdefault(record.field, record.before)
    return before


def _moves(connection: Connection, moved: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each moved ticket's group and assignee before and right after this mutation.

    Both sides are taken now, not when the push commits: a push that moves a ticket into an
    agent's group in one mutation and assigns it to them in the next must still reveal it to
    them (against the state at commit, neither mutation's "before" would have hidden it)."""
    if not moved:
        return {}
    ticket = sa_table("ticket")
    found = connection.execute(
        select(ticket.c.id, ticket.c.group_id, ticket.c.assignee_id).where(ticket.c.id.in_(sorted(moved)))
    ).all()
    moves: dict[str, dict[str, Any]] = {}
    for ticket_id, group_id, assignee_id in found:
        old = moved[str(ticket_id)]
        now = {"group_id": group_id, "assignee_id": assignee_id}
        then = {"group_id": old.get("group_id", group_id), "assignee_id": old.get("assignee_id", assignee_id)}
        moves[str(ticket_id)] = {"from": then, "to": now}
    return moves


def _visibility_moves(moves: dict[str, dict[str, Any]]) -> list[Record]:
    """``hide`` / ``reveal`` records for tickets whose group or assignee changed."""
    records: list[Record] = []
    for ticket_id in sorted(moves):
        then, now = moves[ticket_id]["from"], moves[ticket_id]["to"]
        data = {"ticket_id": ticket_id, "from": then, "to": now}
        records.append(Record("ticket", ticket_id, "hide", data, then["group_id"]))
        records.append(Record("ticket", ticket_id, "reveal", data, now["group_id"]))
    return records


def take_seq(connection: Connection, count: int) -> int:
    """Reserve ``count`` seqs; returns the last. Locks the counter row until commit."""
    found = run_sql(
        connection, "UPDATE counter SET value = value + ? WHERE name = 'seq' RETURNING value", (count,), fetch=True
    )
    if not found or found[0][0] is None:  # pragma: no cover - the initial migration creates the row
        raise RuntimeError("the seq counter is missing")
    return int(found[0][0])


def write_records(connection: Connection, records: list[Record], last_seq: int) -> None:
    """Insert the records with the seqs ending at ``last_seq`` (from :func:`take_seq`)."""
    from supportdesk.store.times import utcnow

    first = last_seq - len(records) + 1
    now = utcnow()
    prepared.execute_many(
        connection,
        insert_into("change_log"),
        [
            {
                "seq": first + index,
                "entity": record.entity,
                "entity_id": record.entity_id,
                "op": record.op,
                "data": record.data,
                "group_id": record.group_id,
                "at": now,
            }
            for index, record in enumerate(records)
        ],
    )
