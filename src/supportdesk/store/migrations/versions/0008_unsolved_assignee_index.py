"""One agent's unsolved tickets in queue order: ``(assignee_id, updated_at, id)`` over new, open,
pending and on-hold tickets only.

"My open" is the view the console opens on. Its rows came from the assignee index, which holds
every ticket the agent ever had (about 50,000 of a million-ticket workspace), so a filter on top
that matched fewer than a page — ``tag:refund`` — walked all of them: 270 ms for 76 rows. This
index holds only the agent's unsolved tickets, and the same page takes 1.4 ms. ``assignee:none``
("Unassigned") uses it too.

Revision ID: 0008_unsolved_assignee
Revises: 0007_console
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_unsolved_assignee"
down_revision: str | None = "0007_console"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# frozen: a migration never follows later edits of the model
UNSOLVED = "status IN ('new', 'open', 'pending', 'on_hold')"


def upgrade() -> None:
    op.create_index(
        "ix_ticket_unsolved_assignee",
        "ticket",
        ["assignee_id", "updated_at", "id"],
        sqlite_where=sa.text(UNSOLVED),
        postgresql_where=sa.text(UNSOLVED),
    )
    if op.get_bind().dialect.name == "sqlite":
        op.execute("PRAGMA analysis_limit=1000")
        op.execute("ANALYZE ix_ticket_unsolved_assignee")


def downgrade() -> None:
    op.drop_index("ix_ticket_unsolved_assignee", table_name="ticket")
