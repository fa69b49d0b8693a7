"""Covering indexes for the saved-view counts of the sidebar.

``assignee:me status<solved``, ``group:X status<solved`` and ``status:solved solved:today`` were
counted by walking every ticket of the agent, group or status (0.3–0.8 s each on 1M tickets);
with (assignee, status), (group, status), (status, priority) and (status, solved_at) a count
reads only the matching index entries.

Revision ID: 0002_count_indexes
Revises: 0001_initial
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002_count_indexes"
down_revision: str | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = (
    ("ix_ticket_assignee_status", ["assignee_id", "status"]),
    ("ix_ticket_group_status", ["group_id", "status"]),
    ("ix_ticket_status_priority", ["status", "priority_rank"]),
    ("ix_ticket_status_solved", ["status", "solved_at"]),
)


def upgrade() -> None:
    for name, columns in INDEXES:
        op.create_index(name, "ticket", columns)


def downgrade() -> None:
    for name, _columns in INDEXES:
        op.drop_index(name, table_name="ticket")
