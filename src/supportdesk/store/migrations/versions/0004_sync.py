"""Sync client: the rows each pending outbox entry touched (``outbox_touched``).

Revision ID: 0004_sync
Revises: 0003_channels
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0004_sync"
down_revision: str | None = "0003_channels"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "outbox_touched",
        sa.Column("outbox_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tbl", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.PrimaryKeyConstraint("outbox_id", "tbl", "key"),
    )


def downgrade() -> None:
    op.drop_table("outbox_touched")
