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


def save_draft(connection: sqlite3.Connection, draft: Draft) -> None:
    """Insert or replace the draft; an empty body with no state deletes it."""
    if not draft.body.strip() and not draft.state:
        delete_draft(connection, draft.ticket_id, draft.kind)
        return
    connection.execute(
        "INSERT INTO draft (ticket_id, kind, body, state, updated_at) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT(ticket_id, kind) DO UPDATE SET body = excluded.body, state = excluded.state, "
        "updated_at = excluded.updated_at",
        (draft.ticket_id, draft.kind, draft.body, json.dumps(draft.state), to_db(utcnow())),
    )


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
