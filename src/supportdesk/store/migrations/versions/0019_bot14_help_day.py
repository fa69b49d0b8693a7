"""The help center's daily figures, shared with every replica (issue 14: self-service metrics).

``help_day`` holds one row per UTC day: searches (and those that found nothing), article views
and deflections, summed by the server from its own bookkeeping (``help_activity``,
``help_deflection``) and written with ``help.tally``, so reports and the dashboard read them
from the local store. Counts only, no customer data.

Revision ID: 0019_bot14_help_day
Revises: 0018_attach_blobs
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0019_bot14_help_day"
down_revision: str | None = "0018_attach_blobs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "help_day",
        sa.Column("id", sa.String(length=10), nullable=False),
        sa.Column("searches", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("searches_empty", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("views", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("deflections", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("help_day")
