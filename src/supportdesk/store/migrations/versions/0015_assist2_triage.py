"""Triage on tickets: sentiment and intent beside the language, each with triage's confidence.

Fields of the ticket field table (``store.ticket_fields``): ``sentiment`` (negative, neutral,
positive, with a score from -1 to 1), ``intent`` (a name from the intents file) and the
confidences of those and of ``language``. ``ticket.triage`` fills them on a new ticket; a change
by hand (``ticket.set_field``) clears the confidence, so triage never overwrites a person.
An index serves ``sentiment:negative`` in the queue.

Revision ID: 0015_assist2_triage
Revises: 0014_imap_mailbox_state
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_assist2_triage"
down_revision: str | None = "0014_imap_mailbox_state"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = (
    ("language_confidence", sa.Float()),
    ("sentiment", sa.String(length=20)),
    ("sentiment_score", sa.Float()),
    ("sentiment_confidence", sa.Float()),
    ("intent", sa.String(length=40)),
    ("intent_confidence", sa.Float()),
)


def upgrade() -> None:
    # plain ALTER TABLE … ADD COLUMN on both engines: no copy of a million-row table
    for name, kind in _COLUMNS:
        op.add_column("ticket", sa.Column(name, kind, nullable=True))
    op.create_index("ix_ticket_sentiment", "ticket", ["sentiment"])


def downgrade() -> None:
    op.drop_index("ix_ticket_sentiment", table_name="ticket")
    for name, _kind in reversed(_COLUMNS):
        op.drop_column("ticket", name)
