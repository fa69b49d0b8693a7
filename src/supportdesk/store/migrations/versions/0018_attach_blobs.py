"""Attachments end to end (issue 16).

- ``attachment.sniffed_type``: what the bytes show, beside the declared ``content_type``.
- ``blob_holder``: who uploaded which file (the server's proof of possession, never synced).

Revision ID: 0018_attach_blobs
Revises: 0017_console_snooze
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0018_attach_blobs"
down_revision: str | None = "0017_console_snooze"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("attachment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sniffed_type", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True))
    op.create_table(
        "blob_holder",
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("agent_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("sha256", "agent_id"),
    )


def downgrade() -> None:
    op.drop_table("blob_holder")
    with op.batch_alter_table("attachment", schema=None) as batch_op:
        batch_op.drop_column("sniffed_type")
