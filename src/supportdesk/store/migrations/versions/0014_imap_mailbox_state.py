"""How far the server has read each IMAP mailbox: ``channel_imap_mailbox``.

One row per remote folder (``[[channels.imap]]``): its UIDVALIDITY and the highest UID handled,
so a restarted server goes on where it stopped and a recreated folder is noticed; counters and
the last error for the admin. Server bookkeeping only, never synced, no customer data.

Revision ID: 0014_imap_mailbox_state
Revises: 0013_help_center
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0014_imap_mailbox_state"
down_revision: str | None = "0013_help_center"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_text = sqlmodel.sql.sqltypes.AutoString
_time = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "channel_imap_mailbox",
        sa.Column("mailbox", _text(length=600), nullable=False),
        sa.Column("address", _text(length=320), nullable=False),
        sa.Column("uidvalidity", sa.BigInteger(), nullable=True),
        sa.Column("last_uid", sa.BigInteger(), nullable=False),
        sa.Column("baseline_uid", sa.BigInteger(), nullable=False),
        sa.Column("ingested", sa.Integer(), nullable=False),
        sa.Column("kept_aside", sa.Integer(), nullable=False),
        sa.Column("last_kept_aside", sa.Text(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_at", _time(), nullable=True),
        sa.Column("connected_at", _time(), nullable=True),
        sa.Column("checked_at", _time(), nullable=True),
        sa.PrimaryKeyConstraint("mailbox"),
    )


def downgrade() -> None:
    op.drop_table("channel_imap_mailbox")
