"""The unsolved tickets' own index: ``(updated_at, id)`` over new, open, pending and on-hold only.

"All open" and every ``… status<solved`` queue is a few thousand tickets of a million, but a
status index's statistics are an average over six statuses: with exact statistics SQLite took
``status<solved created>30d`` for the larger set, walked the whole ``updated_at`` index and
needed 0.6 s for a page that holds nothing. This partial index is as small as the set it covers,
so the planner sees that, and its order is the queue's. The query compiler writes the unsolved
statuses exactly as in the index's condition (a partial index is used only for the same term).

Revision ID: 0007_console
Revises: 0006_audit_ref_length
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_console"
down_revision: str | None = "0006_audit_ref_length"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# frozen: a migration never follows later edits of the model
UNSOLVED = "status IN ('new', 'open', 'pending', 'on_hold')"


def upgrade() -> None:
    op.create_index(
        "ix_ticket_unsolved_updated",
        "ticket",
        ["updated_at", "id"],
        sqlite_where=sa.text(UNSOLVED),
        postgresql_where=sa.text(UNSOLVED),
    )
    if op.get_bind().dialect.name == "sqlite":
        op.execute("PRAGMA analysis_limit=1000")
        op.execute("ANALYZE ix_ticket_unsolved_updated")


def downgrade() -> None:
    op.drop_index("ix_ticket_unsolved_updated", table_name="ticket")
