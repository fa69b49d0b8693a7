"""Tickets chosen for a bulk change or an export, read a page at a time.

Pages are keyset pages over ``(created_at, id)``, a key no change ever moves, so a long run
that writes while it reads never skips or repeats a ticket. The states read here are what a
bulk change compares against to leave out tickets that are already as asked.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from supportdesk.store import ticket_fields
from supportdesk.store.query import Compiled
from supportdesk.store.ticket_fields import TicketField

PAGE = 500


def id_pages(connection: sqlite3.Connection, compiled: Compiled, *, page: int = PAGE) -> Iterator[list[str]]:
    """The ids of every ticket matching ``compiled``, oldest first, ``page`` at a time."""
    conditions = [compiled.where]
    params = dict(compiled.params)
    if compiled.fts:
        conditions.append("t.rowid IN (SELECT rowid FROM ticket_fts WHERE ticket_fts MATCH :fts)")
        params["fts"] = compiled.fts
    params["limit"] = page
    after: tuple[str, str] | None = None
    while True:
        where = list(conditions)
        if after is not None:
            where.append("(t.created_at, t.id) > (:after_created, :after_id)")
            params["after_created"], params["after_id"] = after
        rows = connection.execute(
            f"SELECT t.id, t.created_at FROM ticket t WHERE {' AND '.join(where)} "
            "ORDER BY t.created_at, t.id LIMIT :limit",
            params,
        ).fetchall()
        if rows:
            yield [row[0] for row in rows]
        if len(rows) < page:
            return
        after = (rows[-1][1], rows[-1][0])


def ids_by_number(connection: sqlite3.Connection, numbers: list[int]) -> dict[int, str]:
    """The ids of the tickets with these numbers (a few queries for thousands of numbers)."""
    found: dict[int, str] = {}
    for start in range(0, len(numbers), PAGE):
        chunk = numbers[start : start + PAGE]
        marks = ",".join("?" * len(chunk))
        found.update(connection.execute(f"SELECT number, id FROM ticket WHERE number IN ({marks})", chunk).fetchall())
    return found


@dataclass
class TicketState:
    """The fields of a ticket a bulk change may touch, as they are now: ``values`` holds each
    field ``--set`` can change (see ``store.ticket_fields``), by the field's name."""

    id: str
    number: int | None
    values: dict[str, Any] = field(default_factory=dict)
    tags: set[str] = field(default_factory=set)

    @property
    def label(self) -> str:
        return f"#{self.number}" if self.number else self.id

    @property
    def status(self) -> str:
        return str(self.values["status"])


def _settable() -> list[TicketField]:
    return [f for f in ticket_fields.FIELDS if f.set_key and f.kind != "tags"]


def ticket_states(connection: sqlite3.Connection, ticket_ids: list[str]) -> dict[str, TicketState]:
    """The current state of each of ``ticket_ids`` that exists."""
    states: dict[str, TicketState] = {}
    fields = _settable()
    selected = ", ".join(f.store_column for f in fields)
    for start in range(0, len(ticket_ids), PAGE):
        chunk = ticket_ids[start : start + PAGE]
        marks = ",".join("?" * len(chunk))
        for row in connection.execute(
            f"SELECT id, number, {selected} FROM ticket WHERE id IN ({marks})",
            chunk,
        ):
            values = {f.name: value for f, value in zip(fields, row[2:], strict=True)}
            states[row[0]] = TicketState(row[0], row[1], values)
        for ticket_id, tag in connection.execute(
            f"SELECT ticket_id, tag FROM ticket_tag WHERE ticket_id IN ({marks})", chunk
        ):
            states[ticket_id].tags.add(tag)
    return states


def macro_applied(connection: sqlite3.Connection, ticket_ids: list[str], macro_id: str) -> set[str]:
    """Which of ``ticket_ids`` already carry a comment posted by the macro ``macro_id``."""
    applied: set[str] = set()
    for start in range(0, len(ticket_ids), PAGE):
        chunk = ticket_ids[start : start + PAGE]
        marks = ",".join("?" * len(chunk))
        applied.update(
            row[0]
            for row in connection.execute(
                f"SELECT DISTINCT ticket_id FROM message WHERE ticket_id IN ({marks}) "
                "AND json_extract(meta, '$.macro_id') = ?",
                [*chunk, macro_id],
            )
        )
    return applied
