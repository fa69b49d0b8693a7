"""Local-only rows of one agent's workspace: composer drafts and "seen" marks.

These never leave the machine and are not shared data, so they are written here with plain
``sqlite3`` instead of through a mutation: saving a draft on every pause in typing must cost a
millisecond, not an ORM import and an outbox entry.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from supportdesk.store.times import from_db, to_db, utcnow


@dataclass
class Draft:
    ticket_id: str
    kind: str  # reply | note
    body: str = ""
    state: dict[str, Any] = field(default_factory=dict)
    updated_at: datetime | None = None


#: A ticket whose requester was erased, or a customer id that was (a refused draft's state names
#: the requester of a ticket that has left this workspace).
_ERASED = (
    "SELECT 1 FROM ticket JOIN customer ON customer.id = ticket.requester_id "
    "WHERE ticket.id = ? AND customer.erased_at IS NOT NULL "
    "UNION ALL SELECT 1 FROM customer WHERE customer.id = ? AND customer.erased_at IS NOT NULL"
)

#: The draft written unless its customer was erased, in one statement: a check and a write
#: apart let an erasure commit between them (the watching connection is in autocommit), and the
#: draft it had just deleted came back. Nor is it written on a ticket this store no longer holds
#: unless its state names the requester: an erasure finds drafts by the person's tickets here or
#: by that name, so such a draft would be one it cannot reach.
_SAVE = (
    "INSERT INTO draft (ticket_id, kind, body, state, updated_at) "
    f"SELECT ?, ?, ?, ?, ? WHERE NOT EXISTS ({_ERASED}) "
    "AND (? IS NOT NULL OR EXISTS (SELECT 1 FROM ticket WHERE id = ?)) "
    "ON CONFLICT(ticket_id, kind) DO UPDATE SET body = excluded.body, state = excluded.state, "
    "updated_at = excluded.updated_at"
)


#: An emptied composer's draft deleted — but not a refused draft kept on a ticket that left this
#: store (stamped with its requester, :func:`supportdesk.sync.rows.delete_ticket`): the pane
#: closing on that ticket with nothing typed would otherwise delete the agent's refused text.
_DELETE_EMPTIED = (
    "DELETE FROM draft WHERE ticket_id = ?1 AND kind = ?2 AND (EXISTS (SELECT 1 FROM ticket WHERE id = ?1) "
    "OR json_extract(state, '$.requester_id') IS NULL)"
)


def _requester(draft: Draft) -> str | None:
    requester = draft.state.get("requester_id")
    return requester if isinstance(requester, str) else None


def erased_requester(connection: sqlite3.Connection, draft: Draft) -> bool:
    """Whether the draft is about a customer who was erased."""
    return connection.execute(_ERASED, (draft.ticket_id, _requester(draft))).fetchone() is not None


def save_draft(connection: sqlite3.Connection, draft: Draft) -> bool:
    """Insert or replace the draft; an empty body with no state deletes it. Returns False, and
    deletes the draft instead, when a draft with text was not kept because its customer was
    erased.

    Why refuse: the erasure deleted the drafts on the person's tickets (an agent's reply quotes
    the customer), but a composer that was open at that moment still holds the text, and its
    next save (a pause in typing, Escape, quitting) wrote it back. Nothing written on an erased
    customer's ticket keeps its words anyway — a reply sent later is stored as "(erased)"
    (``keep_erased``) — so the draft would only be a copy erasure cannot reach.

    A draft on a ticket that left this store (a pull hid it, and deleted its drafts but a
    refused one) is not written either, unless its state names the requester (a refused one
    does): the pane closing on that ticket wrote the text typed since its last save as a draft
    nobody's erasure could find — and over the refused draft kept there. True: nothing is said.
    Nor does an empty one delete that refused draft (:data:`_DELETE_EMPTIED`).
    """
    if not draft.body.strip() and not draft.state:
        connection.execute(_DELETE_EMPTIED, (draft.ticket_id, draft.kind))
        return True  # nothing to keep
    values = (draft.ticket_id, draft.kind, draft.body, json.dumps(draft.state), to_db(utcnow()))
    requester = _requester(draft)
    written = connection.execute(_SAVE, (*values, draft.ticket_id, requester, requester, draft.ticket_id)).rowcount
    if written:
        return True
    if not erased_requester(connection, draft):
        return True  # its ticket left this store: the draft kept there, if any, stays as it is
    delete_draft(connection, draft.ticket_id, draft.kind)  # the erasure took it already; to be sure
    return False


def load_draft(connection: sqlite3.Connection, ticket_id: str, kind: str) -> Draft | None:
    row = connection.execute(
        "SELECT body, state, updated_at FROM draft WHERE ticket_id = ? AND kind = ?", (ticket_id, kind)
    ).fetchone()
    if row is None:
        return None
    state = json.loads(row[1]) if row[1] else {}
    return Draft(ticket_id, kind, row[0], state if isinstance(state, dict) else {}, from_db(row[2]))


def draft_kinds(connection: sqlite3.Connection, ticket_id: str) -> list[str]:
    """Which drafts a ticket has (``reply``, ``note``), for the ticket pane's hint."""
    return [r[0] for r in connection.execute("SELECT kind FROM draft WHERE ticket_id = ? ORDER BY kind", (ticket_id,))]


def delete_draft(connection: sqlite3.Connection, ticket_id: str, kind: str) -> None:
    connection.execute("DELETE FROM draft WHERE ticket_id = ? AND kind = ?", (ticket_id, kind))


def mark_seen(connection: sqlite3.Connection, ticket_id: str, when: datetime | None = None) -> None:
    """Record that the agent looked at the ticket now (clears its unread marker)."""
    connection.execute(
        "INSERT INTO ticket_seen (ticket_id, seen_at) VALUES (?, ?) "
        "ON CONFLICT(ticket_id) DO UPDATE SET seen_at = excluded.seen_at",
        (ticket_id, to_db(when or utcnow())),
    )
