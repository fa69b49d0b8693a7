"""The only handle a mutator gets on the store: one open transaction plus its context.

Written with SQLAlchemy Core so the same mutator runs on the agent's SQLite file and on the
server's PostgreSQL. Every change goes through :meth:`Tx.insert`, :meth:`Tx.update` or
:meth:`Tx.delete`, which write the audit events and remember what was touched (the server
turns that into change-log records; the console into a refresh).

The hot statements (a row by key, a row by columns, inserts, audit events, updates by key) are
built once as Core statements, compiled once per dialect and run on the driver's cursor of the
transaction's own connection (:mod:`supportdesk.store.prepared`): SQLAlchemy's per-statement
work cost several times the driver's, and a pushed note runs four of them (issue 19). The
values are SQLAlchemy's own type processing either way; what is rarely run (a delete, a count,
an ``IS NULL`` lookup) goes through ``Connection.execute``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from functools import cache
from typing import Any

from sqlalchemy import Table, and_, bindparam, delete, func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.sql import Executable

from supportdesk.domain.context import MutationContext
from supportdesk.domain.errors import NotFound
from supportdesk.store import prepared
from supportdesk.store.core_tables import table as core_table

#: What each entity is called in errors shown to people.
ENTITY_NAMES = {
    "ticket": "ticket",
    "customer": "customer",
    "agent": "agent",
    "groups": "group",
    "organization": "organization",
    "macro": "macro",
    "kb_article": "article",
    "saved_view": "view",
    "message": "message",
    "identity": "identity",
}


def table(name: str) -> Table:
    """The Core table ``name``: from :mod:`supportdesk.store.tables`, generated from the SQLModel
    classes and tested equal to them, so a write builds none of those classes (issue 19)."""
    return core_table(name)


def _primary_key(tbl: Table) -> list[str]:
    return [column.name for column in tbl.primary_key.columns]


# Statements are built once per table (and column set) and reused with bound values: building
# and cache-keying a Core statement costs more than running it, and a bulk change runs the
# same few statements thousands of times.


def _key_condition(tbl: Table) -> Any:
    return and_(*(tbl.c[name] == bindparam(f"pk_{name}") for name in _primary_key(tbl)))


def _key_params(tbl: Table, keys: tuple[Any, ...]) -> dict[str, Any]:
    return {f"pk_{name}": value for name, value in zip(_primary_key(tbl), keys, strict=True)}


@cache
def _select_by_key(table_name: str) -> Executable:
    tbl = table(table_name)
    return select(tbl).where(_key_condition(tbl))


@cache
def _select_where(table_name: str, columns: tuple[str, ...]) -> Executable:
    tbl = table(table_name)
    return select(tbl).where(and_(*(tbl.c[name] == bindparam(f"w_{name}") for name in columns)))


@cache
def _select_all(table_name: str, columns: tuple[str, ...], order_by: str | None) -> Executable:
    tbl = table(table_name)
    statement = select(tbl)
    if columns:
        statement = statement.where(and_(*(tbl.c[name] == bindparam(f"w_{name}") for name in columns)))
    return statement.order_by(tbl.c[order_by]) if order_by else statement


@cache
def _update_by_key(table_name: str, columns: tuple[str, ...]) -> Executable:
    tbl = table(table_name)
    return update(tbl).where(_key_condition(tbl)).values({name: bindparam(f"v_{name}") for name in columns})


@cache
def insert_into(table_name: str) -> Executable:
    """The INSERT of ``table_name``, built once (for :mod:`supportdesk.store.prepared`)."""
    return insert(table(table_name))


_insert_into = insert_into


def audit_value(value: Any) -> Any:
    """A JSON-able form of a column value for the audit trail."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return value


@dataclass(frozen=True)
class Touched:
    table: str
    key: tuple[Any, ...]
    op: str  # insert | update | delete


@dataclass(frozen=True)
class Audited:
    """One audit record of this transaction, kept in memory (also in replay mode, which writes
    none) so that hooks after the mutator can see what it did without reading it back."""

    entity: str
    entity_id: str
    field: str
    before: Any
    after: Any


class AuditBuffer:
    """A push's audit events, written in one statement instead of one each (issue 19).

    Open on a connection (``with AuditBuffer(connection):``), it holds the rows :meth:`Tx.audit`
    writes while :attr:`active` — the push sets it only around mutations that read no audit
    event, nor do the rules they wake — and :meth:`flush` writes them, in the order they were
    audited, so their ids come in the same order as written one by one. The push flushes before
    any other mutation runs and at its end; a savepoint rolled back (a refused mutation, a failed
    rule) forgets what was held since it began (:func:`audit_mark`, :func:`audit_drop_since`).
    """

    KEY = "supportdesk_audit_buffer"

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.rows: list[dict[str, Any]] = []
        self.active = False

    def __enter__(self) -> AuditBuffer:
        self.connection.info[self.KEY] = self
        return self

    def __exit__(self, *_exc: object) -> None:
        if not self.connection.invalidated:  # a dropped connection's info goes with it (see config_cache)
            self.connection.info.pop(self.KEY, None)

    def flush(self) -> None:
        """Write the rows held (one executemany) and hold none."""
        rows, self.rows = self.rows, []
        prepared.execute_many(self.connection, _insert_into("audit_event"), rows)


def audit_mark(connection: Connection) -> int | None:
    """How many audit rows the open buffer holds (None: none open), for :func:`audit_drop_since`."""
    buffer: AuditBuffer | None = connection.info.get(AuditBuffer.KEY)
    return len(buffer.rows) if buffer is not None else None


def audit_drop_since(connection: Connection, mark: int | None) -> None:
    """Forget the audit rows held since ``mark``: the savepoint they belonged to rolled back."""
    buffer: AuditBuffer | None = connection.info.get(AuditBuffer.KEY)
    if buffer is not None and mark is not None:
        del buffer.rows[mark:]


#: Whether the ticket row a mutator loaded (:meth:`Tx.hold`) is handed to the work after it —
#: the SLA refresh, the routing rules — instead of being read again (wpath19). The equivalence
#: tests switch it off to compare the two paths.
HAND_OVER = True

#: ``connection.info`` key: how many writes to ``ticket`` any :class:`Tx` made on the connection.
_TICKET_WRITES = "supportdesk.tx.ticket_writes"

#: The ticket columns whose new value, as written, equals what reading the row back gives (plain
#: text, StrEnums, UTC datetimes, None). A write of any other column (``priority`` moves the
#: generated ``priority_rank``; ``fields`` is JSON) drops the held row, so it is read again.
_HELD_COLUMNS = frozenset(
    {
        "updated_at",
        "first_response_at",
        "solved_at",
        "status",
        "assignee_id",
        "group_id",
        "snoozed_until",
        "snoozed_by_id",
        "subject",
        "type",
    }
)


#: A held ticket row and the connection's ticket-write count at which it was current.
HeldMark = tuple[dict[str, Any], int]


def still_held(connection: Connection, mark: HeldMark) -> dict[str, Any] | None:
    """``mark``'s row while no Tx wrote a ticket on ``connection`` since (else None: read it)."""
    if not HAND_OVER or connection.info.get(_TICKET_WRITES, -1) != mark[1]:
        return None
    return mark[0]


class Tx:
    def __init__(self, connection: Connection, context: MutationContext, mutation: str) -> None:
        self.connection = connection
        self.context = context
        self.mutation = mutation
        self.touched: list[Touched] = []
        self.audited: list[Audited] = []
        #: ticket rows loaded by the mutator and kept equal to the database by this Tx's writes
        self._held: dict[str, dict[str, Any]] = {}
        #: the connection's ticket-write count when ``_held`` was last known current
        self._held_at = -1

    # --- the ticket row the mutator loaded ------------------------------------------------

    def hold(self, ticket: dict[str, Any]) -> None:
        """Keep ``ticket`` (just read, or written, by this Tx) for :meth:`held_ticket`."""
        if not HAND_OVER:  # the path before wpath19: nothing is held, nothing kept current
            return
        self._held[str(ticket["id"])] = ticket
        self._held_at = self.connection.info.get(_TICKET_WRITES, 0)

    def held_ticket(self, ticket_id: str) -> dict[str, Any] | None:
        """The ticket row as it stands now in this transaction, if this Tx holds it: loaded by
        the mutator and changed since only by this Tx's own writes (which keep it current).
        None — read it — when any other Tx on the connection wrote a ticket since (a rule's
        action, an automation's child mutation) or nothing is held."""
        if not HAND_OVER or self._held_at != self.connection.info.get(_TICKET_WRITES, -1):
            return None
        return self._held.get(ticket_id)

    def held_mark(self, ticket_id: str) -> HeldMark | None:
        """The row :meth:`held_ticket` gives now, with the connection's ticket-write count it is
        current at (:func:`still_held`), for work done later in the transaction (a push's
        deferred clocks) — without keeping this Tx, and what it touched, alive until then."""
        held = self.held_ticket(ticket_id)
        return None if held is None else (held, self._held_at)

    def drop_held(self) -> None:
        """Forget the held rows: something wrote tickets behind this Tx (an erasure's scrub).

        Every other Tx's held rows on the connection are no longer current either (the scrub may
        have rewritten a ticket an earlier mutation of the same push holds, for the push's
        deferred clocks): the connection's ticket-write count moves, as for a write."""
        self._held.clear()
        info = self.connection.info
        info[_TICKET_WRITES] = info.get(_TICKET_WRITES, 0) + 1

    def _ticket_written(self, ticket_id: Any, values: dict[str, Any] | None) -> None:
        """Count a write to ``ticket`` and keep this Tx's held row of it current (or drop it)."""
        info = self.connection.info
        current = info.get(_TICKET_WRITES, 0)
        in_step = self._held_at == current
        info[_TICKET_WRITES] = current + 1
        held = self._held.get(str(ticket_id))
        if held is not None:
            if values is not None and values.keys() <= _HELD_COLUMNS:
                held.update(values)
            else:
                del self._held[str(ticket_id)]
        if in_step:
            self._held_at = current + 1

    @property
    def now(self) -> datetime:
        return self.context.now

    # --- reads ----------------------------------------------------------------------------

    def row(self, table_name: str, key: Any) -> dict[str, Any] | None:
        keys = key if isinstance(key, tuple) else (key,)
        params = _key_params(table(table_name), keys)
        return prepared.first(self.connection, _select_by_key(table_name), params)

    def require(self, table_name: str, key: Any, *, field: str | None = None) -> dict[str, Any]:
        found = self.row(table_name, key)
        if found is None:
            what = ENTITY_NAMES.get(table_name, table_name)
            raise NotFound(f"no {what} with id {key}", field=field)
        return found

    def find(self, table_name: str, **where: Any) -> dict[str, Any] | None:
        names = tuple(sorted(where))
        params = {f"w_{name}": where[name] for name in names}
        return prepared.first(self.connection, _select_where(table_name, names), params)

    def select_all(self, table_name: str, order_by: str | None = None, **where: Any) -> list[dict[str, Any]]:
        if any(value is None for value in where.values()):  # IS NULL: a statement of its own
            tbl = table(table_name)
            statement: Any = select(tbl).where(and_(*(tbl.c[k] == v for k, v in where.items())))
            if order_by:
                statement = statement.order_by(tbl.c[order_by])
            return [dict(r) for r in self.connection.execute(statement).mappings()]
        names = tuple(sorted(where))
        params = {f"w_{name}": where[name] for name in names}
        return prepared.every(self.connection, _select_all(table_name, names, order_by), params)

    def scalar(self, statement: Any) -> Any:
        return self.connection.execute(statement).scalar()

    # --- writes ---------------------------------------------------------------------------

    def insert(
        self,
        table_name: str,
        values: dict[str, Any],
        *,
        audit_entity: tuple[str, str] | None = None,
    ) -> None:
        """Insert a row; in replay mode an existing row with the same key is overwritten."""
        tbl = table(table_name)
        key = tuple(values[name] for name in _primary_key(tbl))
        if self.context.mode == "replay" and self.row(table_name, key) is not None:
            rest = {k: v for k, v in values.items() if k not in _primary_key(tbl)}
            if rest:  # a row that is all key (a tag, a group membership) is already there
                self._write_update(tbl, key, rest)
                if table_name == "ticket":
                    self._ticket_written(key[0], None)
        else:
            prepared.execute(self.connection, _insert_into(table_name), values)
            if table_name == "ticket":
                self._ticket_written(key[0], None)
        self.touched.append(Touched(table_name, key, "insert"))
        if audit_entity:
            entity, entity_id = audit_entity
            self.audit(
                entity,
                entity_id,
                f"{table_name}.created",
                None,
                key[0] if len(key) == 1 else list(key),
            )

    def insert_many(self, table_name: str, rows: list[dict[str, Any]]) -> None:
        """Insert several rows of one table in one statement (no audit: the caller writes one).

        In replay mode each row goes through :meth:`insert`, which overwrites an existing row.
        """
        if self.context.mode == "replay":
            for values in rows:
                self.insert(table_name, values)
            return
        if not rows:
            return
        tbl = table(table_name)
        prepared.execute_many(self.connection, _insert_into(table_name), rows)
        if table_name == "ticket":
            for values in rows:
                self._ticket_written(values["id"], None)
        names = _primary_key(tbl)
        self.touched.extend(Touched(table_name, tuple(values[n] for n in names), "insert") for values in rows)

    def update(
        self,
        table_name: str,
        key: Any,
        changes: dict[str, Any],
        *,
        current: dict[str, Any] | None = None,
        touch: bool = True,
    ) -> dict[str, Any]:
        """Write the fields of ``changes`` that differ; audit each. Returns what changed."""
        tbl = table(table_name)
        keys = key if isinstance(key, tuple) else (key,)
        current = current if current is not None else self.require(table_name, key)
        changed = {k: v for k, v in changes.items() if _comparable(current.get(k)) != _comparable(v)}
        if not changed:
            return {}
        values = dict(changed)
        if touch and "updated_at" in tbl.c and "updated_at" not in values:
            values["updated_at"] = self.now
        self._write_update(tbl, keys, values)
        entity_id = str(keys[0])
        for field_name, after in changed.items():
            self.audit(table_name, entity_id, field_name, current.get(field_name), after)
        if table_name == "ticket":  # after the audit: ``current`` may be the held row itself
            self._ticket_written(keys[0], values)
        current.update(values)
        self.touched.append(Touched(table_name, keys, "update"))
        return changed

    def write_quietly(self, table_name: str, key: Any, values: dict[str, Any]) -> None:
        """Update bookkeeping fields (``updated_at``) that need no audit event of their own."""
        keys = key if isinstance(key, tuple) else (key,)
        self._write_update(table(table_name), keys, values)
        if table_name == "ticket":
            self._ticket_written(keys[0], values)
        self.touched.append(Touched(table_name, keys, "update"))

    def write_quietly_many(self, table_name: str, rows: list[tuple[Any, dict[str, Any]]]) -> None:
        """:meth:`write_quietly` for several rows: ``(key, values)`` pairs, one statement for
        each set of columns written (an executemany)."""
        tbl = table(table_name)
        by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for key, values in rows:
            keys = key if isinstance(key, tuple) else (key,)
            params = _key_params(tbl, keys)
            params.update({f"v_{name}": value for name, value in values.items()})
            by_columns.setdefault(tuple(sorted(values)), []).append(params)
            self.touched.append(Touched(table_name, keys, "update"))
        for columns, params_list in by_columns.items():
            prepared.execute_many(self.connection, _update_by_key(table_name, columns), params_list)
        if table_name == "ticket":
            for key, values in rows:
                self._ticket_written(key[0] if isinstance(key, tuple) else key, values)

    def _write_update(self, tbl: Table, keys: tuple[Any, ...], values: dict[str, Any]) -> None:
        params = _key_params(tbl, keys)
        params.update({f"v_{name}": value for name, value in values.items()})
        prepared.execute(self.connection, _update_by_key(tbl.name, tuple(sorted(values))), params)

    def delete(self, table_name: str, key: Any, *, audit_entity: tuple[str, str] | None = None) -> bool:
        tbl = table(table_name)
        keys = key if isinstance(key, tuple) else (key,)
        conditions = [tbl.c[name] == value for name, value in zip(_primary_key(tbl), keys, strict=True)]
        result = self.connection.execute(delete(tbl).where(and_(*conditions)))
        if table_name == "ticket":
            self._ticket_written(keys[0], None)
        if result.rowcount:
            self.touched.append(Touched(table_name, keys, "delete"))
            if audit_entity:
                entity, entity_id = audit_entity
                self.audit(
                    entity,
                    entity_id,
                    f"{table_name}.deleted",
                    list(keys) if len(keys) > 1 else keys[0],
                    None,
                )
        return bool(result.rowcount)

    def audit(self, entity: str, entity_id: str, field_name: str, before: Any, after: Any) -> None:
        self.audited.append(Audited(entity, entity_id, field_name, audit_value(before), audit_value(after)))
        if self.context.mode == "replay":
            return
        row = {
            "at": self.now,
            "actor_id": self.context.actor.id,
            "mutation": self.mutation,
            "mutation_ref": self.context.mutation_ref,
            "entity": entity,
            "entity_id": entity_id,
            "field": field_name,
            "before": audit_value(before),
            "after": audit_value(after),
            "source": self.context.source or None,
        }
        buffer: AuditBuffer | None = self.connection.info.get(AuditBuffer.KEY)
        if buffer is not None and buffer.active:
            buffer.rows.append(row)
            return
        prepared.execute(self.connection, _insert_into("audit_event"), row)

    def next_counter(self, name: str) -> int:
        """Increment and return a named counter (ticket numbers on the authority)."""
        counter = table("counter")
        value = self.connection.execute(
            update(counter).where(counter.c.name == name).values(value=counter.c.value + 1).returning(counter.c.value)
        ).scalar()
        if value is None:
            self.connection.execute(insert(counter).values(name=name, value=1))
            return 1
        return int(value)

    def count(self, table_name: str, **where: Any) -> int:
        tbl = table(table_name)
        statement = select(func.count()).select_from(tbl)
        for name, value in where.items():
            statement = statement.where(tbl.c[name] == value)
        return int(self.connection.execute(statement).scalar() or 0)


def _comparable(value: Any) -> Any:
    return audit_value(value)
