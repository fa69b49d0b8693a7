"""Bringing history in by the chunk: ``ticket.import_many``, what ``supportdesk import`` runs.

One ``ticket.import`` per ticket costs some thirty statements, each paying SQLAlchemy's
per-statement work, and the full-text triggers re-index a ticket's whole document once per
message: about 130 tickets a second. ``ticket.import_many`` brings in a chunk of tickets as one
mutation of the one write path: each ticket is planned in memory by the very code of
``ticket.import`` (:func:`supportdesk.domain.mutations.imports.import_one`) over a
:class:`ChunkStore` that answers its reads from what is already here (read for the whole chunk
in a few statements) and from what the chunk's earlier tickets planned; then each table's rows
are written in one statement, the full-text index is built for the chunk's tickets and new
customers after their rows (as the demo loader does, :mod:`supportdesk.store.bulk`), and the
hooks after a mutation (erasure, SLA clocks, rules) run once for the chunk.

**The same workspace as one ticket at a time**: the same rows in the same order (so the same
row ids and the same search index), the same audit events, warnings and refusals; only the
audit events' ``mutation`` (``ticket.import_many``) and ``mutation_ref`` (the chunk's outbox
entry) say how they were written. ``tests/cli/test_import_chunks.py`` compares every table.

**A refused ticket refuses only itself.** A ticket the import refuses (its id or a message id
already here, no requester) leaves no trace — its planned rows and counter steps are dropped —
and is reported in the result with its error; the chunk's other tickets are written. A write
the plan did not foresee (a database constraint, say two attachments with one id) refuses the
chunk as a whole with a :class:`Conflict`; ``supportdesk import`` then brings that chunk's
tickets in one at a time with ``ticket.import``, so only the bad ticket is refused.

Only a workspace of its own (SQLite, not replaying) plans in memory; anywhere else (a server
that was pushed one, a replay) the chunk runs ``ticket.import``'s code ticket by ticket, each
in a savepoint.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from datetime import UTC, datetime
from functools import lru_cache
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from pydantic import Field, model_validator
from sqlalchemy import JSON, insert
from sqlalchemy.exc import IntegrityError

from supportdesk.domain.errors import Conflict, DomainError, ValidationFailed
from supportdesk.domain.identities import normalize_identity
from supportdesk.domain.mutations.imports import IMPORT_ARGS, ImportTicket, constraint_failed, import_one, import_ticket
from supportdesk.domain.registry import ADMINS, Args, mutation
from supportdesk.domain.text_safety import sanitize_line
from supportdesk.domain.tx import Audited, Touched, Tx, audit_value, table
from supportdesk.store.column_types import UTCDateTime

if TYPE_CHECKING:
    from supportdesk.domain.context import MutationContext

    ImportArgs = ImportTicket
else:
    ImportArgs = IMPORT_ARGS

#: The most tickets, and messages, one chunk may carry (``supportdesk import`` sends 200 tickets
#: or fewer): its rows, its outbox entry and the erasure check's id lists stay bounded.
MAX_TICKETS = 500
MAX_MESSAGES = 10_000

#: A find()'s condition: its (column, value) pairs, sorted.
Where = tuple[tuple[str, Any], ...]

#: The order the chunk's rows are written in: each table after the ones its rows point at.
WRITE_ORDER = ("organization", "customer", "identity", "ticket", "ticket_tag", "message", "attachment")


class ImportTickets(Args):
    """Tickets of an export, each as ``ticket.import`` takes it."""

    tickets: list[ImportArgs] = Field(min_length=1, max_length=MAX_TICKETS)

    @model_validator(mode="after")
    def _bounded(self) -> ImportTickets:
        messages = sum(len(ticket.messages) for ticket in self.tickets)
        if messages > MAX_MESSAGES:
            raise ValueError(f"at most {MAX_MESSAGES:,} messages per chunk, not {messages:,}")
        return self


@mutation("ticket.import_many", ImportTickets, roles=ADMINS)
def import_many(tx: Tx, args: ImportTickets) -> dict[str, Any]:
    """Bring in a chunk of whole tickets; a ticket refused does not stop the others."""
    if tx.connection.dialect.name == "sqlite" and tx.context.mode == "local":
        return {"tickets": _planned(tx, args.tickets)}
    return {"tickets": [_one_in_savepoint(tx, ticket) for ticket in args.tickets]}


def _refusal(ticket: ImportTicket, error: DomainError) -> dict[str, Any]:
    return {"ticket_id": ticket.id, "error": error.as_dict()}


def _own_warnings(context: MutationContext, since: int) -> list[str]:
    """The warnings one ticket added, taken out of the mutation's own (they are reported with
    the ticket, labelled with its number)."""
    mine = context.warnings[since:]
    del context.warnings[since:]
    return mine


def _one_in_savepoint(tx: Tx, ticket: ImportTicket) -> dict[str, Any]:
    audited, touched, warned = len(tx.audited), len(tx.touched), len(tx.context.warnings)
    savepoint = tx.connection.begin_nested()
    try:
        result = import_ticket(tx, ticket) or {}
    except DomainError as error:
        savepoint.rollback()
        del tx.audited[audited:], tx.touched[touched:]
        _own_warnings(tx.context, warned)
        return _refusal(ticket, error)
    savepoint.commit()
    return {**result, "warnings": _own_warnings(tx.context, warned)}


def _planned(tx: Tx, tickets: list[ImportTicket]) -> list[dict[str, Any]]:
    store = ChunkStore(tx)
    store.read_ahead(tickets)
    results: list[dict[str, Any]] = []
    for ticket in tickets:
        mark, warned = store.mark(), len(tx.context.warnings)
        try:
            result = import_one(store, ticket)
        except DomainError as error:
            store.drop_since(mark)
            _own_warnings(tx.context, warned)
            results.append(_refusal(ticket, error))
            continue
        results.append({**result, "warnings": _own_warnings(tx.context, warned)})
    try:
        store.write()
    except (IntegrityError, sqlite3.IntegrityError) as error:
        reason = constraint_failed(error) if isinstance(error, IntegrityError) else str(error).splitlines()[0]
        raise Conflict(f"the chunk cannot be written as a whole ({reason}): import its tickets one at a time") from None
    return results


def _where_key(where: dict[str, Any]) -> Where:
    return tuple(sorted((name, audit_value(value)) for name, value in where.items()))


class ChunkStore:
    """An :class:`~supportdesk.domain.mutations.imports.ImportStore` that plans a chunk in memory.

    Reads are answered from the rows the chunk planned, then from what :meth:`read_ahead` read
    for the whole chunk, then (rarely: a merge chain, say) from the transaction, remembered.
    Inserts and audit events are kept in order and written by :meth:`write`. Everything
    planned is append-only, so a refused ticket's plan is dropped by cutting back to a
    :meth:`mark`.
    """

    def __init__(self, tx: Tx) -> None:
        self.tx = tx
        #: Rows planned, by table and key (insertion order; a refused ticket's are popped).
        self.planned: dict[str, dict[Any, dict[str, Any]]] = {name: {} for name in WRITE_ORDER}
        #: Rows planned, by table and the columns a find() looks them up by.
        self.planned_where: dict[tuple[str, Where], dict[str, Any]] = {}
        self.inserts: dict[str, list[dict[str, Any]]] = {name: [] for name in WRITE_ORDER}
        self.audits: list[dict[str, Any]] = []
        #: What is here already: (table, key) or (table, where) → the row, or None when absent.
        self.known: dict[tuple[str, Any], dict[str, Any] | None] = {}
        self.counter: int | None = None
        self.counter_read = False

    # --- what the import asks -----------------------------------------------------------

    @property
    def context(self) -> MutationContext:
        return self.tx.context

    @property
    def now(self) -> datetime:
        return self.tx.now

    def row(self, table_name: str, key: Any) -> dict[str, Any] | None:
        planned = self.planned.get(table_name)
        if planned is not None and key in planned:
            return planned[key]
        cached = (table_name, key)
        if cached not in self.known:
            self.known[cached] = self.tx.row(table_name, key)
        return self.known[cached]

    def find(self, table_name: str, **where: Any) -> dict[str, Any] | None:
        condition = _where_key(where)
        planned = self.planned_where.get((table_name, condition))
        if planned is not None:
            return planned
        cached = (table_name, condition)
        if cached not in self.known:
            self.known[cached] = self.tx.find(table_name, **where)
        return self.known[cached]

    def insert(self, table_name: str, values: dict[str, Any], *, audit_entity: tuple[str, str] | None = None) -> None:
        self._plan(table_name, values)
        if audit_entity:
            entity, entity_id = audit_entity
            self.audit(entity, entity_id, f"{table_name}.created", None, values["id"])

    def insert_many(self, table_name: str, rows: list[dict[str, Any]]) -> None:
        for values in rows:
            self._plan(table_name, values)

    def audit(self, entity: str, entity_id: str, field_name: str, before: Any, after: Any) -> None:
        context = self.tx.context
        self.audits.append(
            {
                "at": self.tx.now,
                "actor_id": context.actor.id,
                "mutation": self.tx.mutation,
                "mutation_ref": context.mutation_ref,
                "entity": entity,
                "entity_id": entity_id,
                "field": field_name,
                "before": audit_value(before),
                "after": audit_value(after),
                "source": context.source or None,
            }
        )

    def next_counter(self, name: str) -> int:
        if name != "ticket_number":  # the import counts nothing else; kept exact all the same
            return self.tx.next_counter(name)
        self.counter = (self._counter() or 0) + 1
        return self.counter

    def raise_counter(self, number: int) -> None:
        current = self._counter()
        if current is None or current < number:
            self.counter = number

    def taken_message(self, message_ids: list[str]) -> str | None:
        taken = [i for i in message_ids if self.row("message", i) is not None]
        return min(taken) if taken else None

    # --- planning -------------------------------------------------------------------------

    def _plan(self, table_name: str, values: dict[str, Any]) -> None:
        self.inserts[table_name].append(values)
        planned = {**values, "merged_into_id": None} if table_name == "customer" else values
        self.planned[table_name][_key(table_name, values)] = planned
        for where in _wheres(table_name, values):
            self.planned_where[where] = planned

    def _counter(self) -> int | None:
        if not self.counter_read:
            row = self.tx.row("counter", "ticket_number")
            self.counter = int(row["value"]) if row is not None else None
            self.counter_read = True
        return self.counter

    def mark(self) -> tuple[dict[str, int], int, int | None]:
        """Where the plan stands, for :meth:`drop_since`."""
        return {name: len(rows) for name, rows in self.inserts.items()}, len(self.audits), self.counter

    def drop_since(self, mark: tuple[dict[str, int], int, int | None]) -> None:
        """Forget what was planned after ``mark`` (a refused ticket's rows and counter steps)."""
        lengths, audits, counter = mark
        for name, rows in self.inserts.items():
            for values in rows[lengths[name] :]:
                self.planned[name].pop(_key(name, values), None)
                for where in _wheres(name, values):
                    self.planned_where.pop(where, None)
            del rows[lengths[name] :]
        del self.audits[audits:]
        self.counter = counter

    # --- reading ahead --------------------------------------------------------------------

    def read_ahead(self, tickets: list[ImportTicket]) -> None:
        """Read, for the whole chunk in a few statements, what its tickets will ask about.

        Only a speed-up: a question it did not foresee is asked of the transaction."""
        wanted: dict[str, set[Any]] = {name: set() for name in _READ_AHEAD}
        numbers = {ticket.number for ticket in tickets if ticket.number is not None}
        addresses: set[tuple[str, str]] = set()
        names: set[str] = set()
        for ticket in tickets:
            wanted["ticket"].update(
                v for v in (ticket.id, ticket.problem_id, ticket.merged_into_id, ticket.follow_up_of_id) if v
            )
            wanted["customer"].add(ticket.requester_id)
            wanted["groups"].update([ticket.group_id] if ticket.group_id else [])
            wanted["agent"].update([ticket.assignee_id] if ticket.assignee_id else [])
            for customer in ticket.customers:
                wanted["customer"].add(customer.id)
                for identity in customer.identities:
                    wanted["identity"].add(identity.id)
                    with contextlib.suppress(ValidationFailed):
                        addresses.add((identity.kind.value, normalize_identity(identity.kind, identity.value)))
                if customer.organization is not None:
                    wanted["organization"].add(customer.organization.id)
                    names.add(sanitize_line(customer.organization.name, cap=200))
            for message in ticket.messages:
                wanted["message"].add(message.id)
                wanted["agent"].update([message.author_agent_id] if message.author_agent_id else [])
                wanted["customer"].update([message.author_customer_id] if message.author_customer_id else [])
        for name, keys in wanted.items():
            found = {row["id"]: row for row in self._each(_READ_AHEAD[name], keys)}
            self.known.update(((name, key), found.get(key)) for key in keys)
        taken = {row["number"] for row in self._each(_TAKEN_NUMBERS, numbers)}
        for number in numbers:
            self.known[("ticket", _where_key({"number": number}))] = {"number": number} if number in taken else None
        owners = {(row["kind"], row["value"]): row for row in self._each(_OWNERS, {v for _k, v in addresses})}
        for kind, value in addresses:
            self.known[("identity", _where_key({"kind": kind, "value": value}))] = owners.get((kind, value))
        named = {row["name"]: row for row in self._each(_NAMED, names)}
        self.known.update((("organization", _where_key({"name": name})), named.get(name)) for name in names)

    def _each(self, sql: str, keys: set[Any]) -> list[dict[str, Any]]:
        """The rows ``sql`` finds for ``keys``, read on the sqlite3 connection (same transaction):
        plain columns (ids, a number, a name), which need no conversion by SQLAlchemy."""
        if not keys:
            return []
        raw = self.tx.connection.connection.driver_connection
        assert raw is not None
        cursor = raw.execute(sql, (json.dumps(sorted(keys)),))
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor]

    # --- writing --------------------------------------------------------------------------

    def write(self) -> None:
        """Write the chunk: each table's rows in as few statements as their columns allow, the
        audit events, the counter, then the search index for the chunk's tickets and new
        customers."""
        from supportdesk.domain.mutations.imports import counter_statements
        from supportdesk.store import bulk

        tx = self.tx
        raw = tx.connection.connection.driver_connection  # the sqlite3 connection, same transaction
        assert raw is not None
        paused = bulk.pause_insert_indexing(raw)
        for name in WRITE_ORDER:
            for rows in _runs(self.inserts[name]):
                _insert_rows(tx, raw, name, rows)
        if self.audits:
            _insert_rows(tx, raw, "audit_event", self.audits, touch=False)
            tx.audited.extend(
                Audited(a["entity"], a["entity_id"], a["field"], a["before"], a["after"]) for a in self.audits
            )
        if self.counter_read and self.counter is not None:
            # the counter is bookkeeping, written as ticket.import writes it (not touched, not audited)
            statements = counter_statements()
            if tx.row("counter", "ticket_number") is None:
                tx.connection.execute(statements["insert_counter"], {"number": self.counter})
            else:
                tx.connection.execute(statements["raise_counter"], {"number": self.counter})
        bulk.index_and_resume(
            raw,
            paused,
            tickets=[row["id"] for row in self.inserts["ticket"]],
            customers=[row["id"] for row in self.inserts["customer"]],
        )


def _key(table_name: str, values: dict[str, Any]) -> Any:
    return (values["ticket_id"], values["tag"]) if table_name == "ticket_tag" else values["id"]


def _wheres(table_name: str, values: dict[str, Any]) -> list[tuple[str, Where]]:
    """The find() conditions a planned row answers (a ticket without a number answers none)."""
    found = []
    for columns in _LOOKED_UP_BY.get(table_name, ()):
        where = {name: values[name] for name in columns}
        if all(value is not None for value in where.values()):
            found.append((table_name, _where_key(where)))
    return found


def _insert_rows(tx: Tx, raw: Any, table_name: str, rows: list[dict[str, Any]], *, touch: bool = True) -> None:
    """``rows`` (of the same columns) in one ``executemany`` on the sqlite3 connection, each value
    converted as its column type's own bind processor converts it — what SQLAlchemy's insert
    does, without its per-row work, which cost as much as SQLite's. A table with a column whose
    Python-side default the rows leave out goes through SQLAlchemy (which fills it in)."""
    columns = tuple(rows[0])
    rows_table = table(table_name)
    if any(c.default is not None and c.name not in rows[0] for c in rows_table.columns):
        tx.connection.execute(insert(rows_table), rows)
    else:
        raw.executemany(_insert_sql(table_name, columns), _parameters(rows_table, columns, tx.connection.dialect, rows))
    if touch:
        keys = rows_table.primary_key.columns.keys()
        if len(keys) == 1:
            (key,) = keys
            tx.touched.extend(Touched(table_name, (values[key],), "insert") for values in rows)
        else:
            tx.touched.extend(Touched(table_name, tuple(values[key] for key in keys), "insert") for values in rows)


@lru_cache(maxsize=64)
def _insert_sql(table_name: str, columns: tuple[str, ...]) -> str:
    return f"INSERT INTO {table_name} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


def _parameters(rows_table: Any, columns: tuple[str, ...], dialect: Any, rows: list[dict[str, Any]]) -> list[Any]:
    """Each row's parameters, in ``columns`` order: its values, those of the columns that have a
    bind processor converted (the other columns' values go to SQLite as they are)."""
    pick: Any = itemgetter(*columns) if len(columns) > 1 else lambda values: (values[columns[0]],)
    convert = [(index, _converter(rows_table, name, dialect)) for index, name in enumerate(columns)]
    convert = [(index, process) for index, process in convert if process is not None]
    if not convert:
        return [pick(values) for values in rows]
    out = []
    for values in rows:
        params = list(pick(values))
        for index, process in convert:
            params[index] = process(params[index])
        out.append(params)
    return out


def _converter(rows_table: Any, name: str, dialect: Any) -> Any:
    """What converts a value of the column ``name`` for SQLite, or ``None`` when nothing does:
    its type's bind processor, or an equivalent that is faster for the values an import writes."""
    column_type = rows_table.c[name].type
    if isinstance(column_type, UTCDateTime):
        return _db_time
    process = column_type.dialect_impl(dialect).bind_processor(dialect)
    if process is not None and isinstance(column_type, JSON) and dialect._json_serializer is None:
        return _json_text(process)
    return process


def _json_text(process: Any) -> Any:
    """A JSON column's bind processor (``json.dumps``, after checks for SQLAlchemy's own null
    markers), with plain values — dicts, lists, text — dumped straight, and an empty dict (most
    messages' ``meta``, most tickets' ``fields``) without building an encoder."""

    def convert(value: Any) -> Any:
        kind = value.__class__
        if kind is dict:
            return json.dumps(value) if value else "{}"
        if kind is list or kind is str:
            return json.dumps(value)
        return process(value)

    return convert


def _db_time(value: datetime | None) -> str | None:
    """What SQLModel's ``UTCDateTime`` stores on SQLite (``YYYY-MM-DD HH:MM:SS.ffffff``, UTC),
    in one or two C calls instead of its two Python steps (a tenth of the chunk's time)."""
    if value is None:
        return None
    if value.tzinfo is not UTC:
        if value.utcoffset() is None:
            raise ValueError("naive datetime: every supportdesk time is timezone-aware UTC")
        value = value.astimezone(UTC)
    return value.isoformat(" ", "microseconds")[:26]  # without the "+00:00"


def _runs(rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """``rows`` cut where their columns change, order kept: one insert statement takes the
    columns of its first row, and a column left out must get its default, not NULL."""
    runs: list[list[dict[str, Any]]] = []
    columns: Any = None
    for values in rows:
        if runs and values.keys() == columns:
            runs[-1].append(values)
        else:
            runs.append([values])
            columns = values.keys()
    return runs


#: ``WHERE … IN`` a JSON list bound as one parameter: any number of keys, one statement.
_LIST = "(SELECT value FROM json_each(?))"

#: What :meth:`ChunkStore.read_ahead` reads of each table by id: what the import reads of it.
_READ_AHEAD = {
    name: f"SELECT {columns} FROM {name} WHERE id IN {_LIST}"
    for name, columns in (
        ("ticket", "id"),
        ("customer", "id, merged_into_id"),
        ("identity", "id"),
        ("organization", "id"),
        ("agent", "id"),
        ("groups", "id"),
        ("message", "id"),
    )
}
_TAKEN_NUMBERS = f"SELECT number FROM ticket WHERE number IN {_LIST}"
_OWNERS = f"SELECT kind, value, customer_id FROM identity WHERE value IN {_LIST}"
_NAMED = f"SELECT id, name FROM organization WHERE name IN {_LIST}"

#: The columns the import finds planned rows by (``find``), per table.
_LOOKED_UP_BY: dict[str, tuple[tuple[str, ...], ...]] = {
    "ticket": (("number",),),
    "identity": (("kind", "value"),),
    "organization": (("name",),),
}
