"""The assist engine's vector index: one embedding per ticket, local derived data like FTS.

``assist_vector`` holds each ticket's unit vector as 256 signed bytes (×127), keyed by the
ticket's rowid (the key the FTS index uses too); ``assist_code`` the same vector's 256 sign bits,
which the in-memory coarse search loads (32 bytes a ticket, so a million tickets load in about
a second and take 32 MB). ``assist_meta`` says which embedding version built them.

Nothing here is shared data: it is never synced, and ``supportdesk.assist.index.build`` makes
it again from the tickets at any time. The triggers drop a ticket's vector the moment its text
changes — a new subject, a new customer message, a message body rewritten (which only erasure
does: messages are append-only) — or the ticket leaves the workspace, so erased text never
survives in a vector, and the next build embeds exactly the tickets without one.

SQLite only: a server database (PostgreSQL) computes triage and duplicates from text and keeps
no vectors.

Revision ID: 0009_assist_vectors
Revises: 0008_unsolved_assignee
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009_assist_vectors"
down_revision: str | None = "0008_unsolved_assignee"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DROP = "DELETE FROM assist_vector WHERE ticket_rowid = {r}; DELETE FROM assist_code WHERE ticket_rowid = {r};"
_OF_TICKET = "(SELECT rowid FROM ticket WHERE id = {t})"

STATEMENTS = (
    "CREATE TABLE assist_vector (ticket_rowid INTEGER PRIMARY KEY, vector BLOB NOT NULL)",
    "CREATE TABLE assist_code (ticket_rowid INTEGER PRIMARY KEY, code BLOB NOT NULL)",
    "CREATE TABLE assist_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TRIGGER assist_ticket_bd BEFORE DELETE ON ticket BEGIN " + _DROP.format(r="old.rowid") + " END",
    "CREATE TRIGGER assist_ticket_au AFTER UPDATE OF subject ON ticket BEGIN " + _DROP.format(r="new.rowid") + " END",
    "CREATE TRIGGER assist_message_ai AFTER INSERT ON message WHEN new.author_kind = 'customer' BEGIN "
    + _DROP.format(r=_OF_TICKET.format(t="new.ticket_id"))
    + " END",
    "CREATE TRIGGER assist_message_au AFTER UPDATE OF body ON message BEGIN "
    + _DROP.format(r=_OF_TICKET.format(t="new.ticket_id"))
    + " END",
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for trigger in ("assist_ticket_bd", "assist_ticket_au", "assist_message_ai", "assist_message_au"):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    for name in ("assist_vector", "assist_code", "assist_meta"):
        op.execute(f"DROP TABLE IF EXISTS {name}")
