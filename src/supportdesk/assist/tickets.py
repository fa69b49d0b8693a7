"""Reading what a ticket is about: its subject and what the customer wrote.

The text the models read for a ticket is its subject and the customer's messages in order
(agents' replies describe the answer, not the ask), each cleaned (:func:`.text.clean`) and the
whole cut at :data:`TICKET_CHARS`. Erased text reads as empty, so an erased ticket is never
embedded, classified or suggested from.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from supportdesk.assist.text import clean

#: Characters of a ticket the models read: the subject and the start of the conversation.
TICKET_CHARS = 1200
ERASED = "(erased)"  # supportdesk.domain.mutations.privacy.ERASED_TEXT


def compose(subject: str, customer_messages: Sequence[str]) -> str:
    """The model text of a ticket from its parts (also used for tickets not yet stored)."""
    parts = [clean(subject, limit=300)] if subject and subject != ERASED else []
    used = len(parts[0]) if parts else 0
    for body in customer_messages:
        if used >= TICKET_CHARS:
            break
        if not body or body == ERASED:
            continue
        piece = clean(body, limit=TICKET_CHARS - used)
        if piece:
            parts.append(piece)
            used += len(piece) + 1
    return "\n".join(parts)[:TICKET_CHARS]


def _customer_bodies(connection: sqlite3.Connection, ticket_ids: Sequence[str]) -> dict[str, list[str]]:
    bodies: dict[str, list[str]] = {}
    for start in range(0, len(ticket_ids), 500):
        chunk = list(ticket_ids[start : start + 500])
        marks = ",".join("?" * len(chunk))
        rows = connection.execute(
            f"SELECT ticket_id, substr(body, 1, {TICKET_CHARS * 2}) FROM message "
            f"WHERE ticket_id IN ({marks}) AND author_kind = 'customer' ORDER BY ticket_id, created_at, rowid",
            chunk,
        )
        for ticket_id, body in rows:
            bodies.setdefault(ticket_id, []).append(body or "")
    return bodies


def ticket_texts(connection: sqlite3.Connection, ticket_ids: Sequence[str]) -> dict[str, str]:
    """The model text of each ticket that exists (erased or empty tickets map to "")."""
    found: dict[str, str] = {}
    bodies = _customer_bodies(connection, ticket_ids)
    for start in range(0, len(ticket_ids), 500):
        chunk = list(ticket_ids[start : start + 500])
        marks = ",".join("?" * len(chunk))
        for ticket_id, subject in connection.execute(f"SELECT id, subject FROM ticket WHERE id IN ({marks})", chunk):
            found[ticket_id] = compose(subject or "", bodies.get(ticket_id, []))
    return found


@dataclass(frozen=True)
class TicketText:
    rowid: int
    ticket_id: str
    text: str


def iter_texts(
    connection: sqlite3.Connection, rowids: Sequence[int], *, batch: int = 2000
) -> Iterator[list[TicketText]]:
    """Batches of model texts for the tickets with these rowids (the index builder's reader)."""
    for start in range(0, len(rowids), batch):
        chunk = list(rowids[start : start + batch])
        marks = ",".join("?" * len(chunk))
        rows = connection.execute(f"SELECT rowid, id, subject FROM ticket WHERE rowid IN ({marks})", chunk).fetchall()
        bodies = _customer_bodies(connection, [row[1] for row in rows])
        yield [TicketText(row[0], row[1], compose(row[2] or "", bodies.get(row[1], []))) for row in rows]
