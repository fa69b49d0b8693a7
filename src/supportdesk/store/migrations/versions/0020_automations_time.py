"""Time-based automations and manual time tracking (issue 17, the helper auto17).

- ``automation_firing``: which automation fired on which ticket (fire once while the ticket
  stays in the condition); the authority's bookkeeping, never synced.
- ``time_entry``: time an agent logged on a ticket by hand (``tickets time N 15m``), shared and
  scoped to its ticket like handle time.

Revision ID: 0020_automations_time
Revises: 0019_bot14_help_day
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0020_automations_time"
down_revision: str | None = "0019_bot14_help_day"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "automation_firing",
        sa.Column("rule_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("ticket_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("fired_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("rule_id", "ticket_id"),
    )
    op.create_table(
        "time_entry",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("ticket_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("agent_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("seconds", sa.Integer(), nullable=False),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["agent_id"], ["agent.id"]),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_time_entry_ticket", "time_entry", ["ticket_id", "at"])
    op.create_index("ix_time_entry_at", "time_entry", ["at", "agent_id", "ticket_id", "seconds"])


def downgrade() -> None:
    op.drop_index("ix_time_entry_at", table_name="time_entry")
    op.drop_index("ix_time_entry_ticket", table_name="time_entry")
    op.drop_table("time_entry")
    op.drop_table("automation_firing")
