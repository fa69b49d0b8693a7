"""Channels: message-id index, outside conversations, one outbox for every channel, auto-reply counters.

Revision ID: 0003_channels
Revises: 0002_count_indexes
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0003_channels"
down_revision: str | None = "0002_count_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_text = sqlmodel.sql.sqltypes.AutoString
_time = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "channel_message_ref",
        sa.Column("channel", _text(length=20), nullable=False),
        sa.Column("scope", _text(length=320), nullable=False),
        sa.Column("external_id", _text(length=500), nullable=False),
        sa.Column("message_id", _text(length=36), nullable=False),
        sa.Column("ticket_id", _text(length=36), nullable=True),
        sa.Column("created_at", _time(), nullable=False),
        sa.PrimaryKeyConstraint("channel", "scope", "external_id"),
    )
    op.create_index("ix_channel_message_ref_external", "channel_message_ref", ["channel", "external_id"])
    op.create_table(
        "channel_conversation",
        sa.Column("channel", _text(length=20), nullable=False),
        sa.Column("external_id", _text(length=500), nullable=False),
        sa.Column("ticket_id", _text(length=36), nullable=False),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("updated_at", _time(), nullable=False),
        sa.PrimaryKeyConstraint("channel", "external_id"),
    )
    op.create_index("ix_channel_conversation_ticket", "channel_conversation", ["ticket_id"])
    op.create_table(
        "channel_outbox",
        sa.Column("key", _text(length=120), nullable=False),
        sa.Column("channel", _text(length=20), nullable=False),
        sa.Column("kind", _text(length=20), nullable=False),
        sa.Column("ticket_id", _text(length=36), nullable=True),
        sa.Column("message_id", _text(length=36), nullable=True),
        sa.Column("recipient", _text(length=2000), nullable=False),
        sa.Column("header_id", _text(length=500), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", _text(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _time(), nullable=False),
        sa.Column("claimed_until", _time(), nullable=True),
        sa.Column("last_error", _text(), nullable=True),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("sent_at", _time(), nullable=True),
        sa.PrimaryKeyConstraint("key"),
        sa.UniqueConstraint("header_id", name="uq_channel_outbox_header_id"),
    )
    op.create_index("ix_channel_outbox_due", "channel_outbox", ["status", "next_attempt_at"])
    op.create_table(
        "channel_autoreply",
        sa.Column("address", _text(length=320), nullable=False),
        sa.Column("window_start", _time(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("address"),
    )


def downgrade() -> None:
    op.drop_table("channel_autoreply")
    op.drop_index("ix_channel_outbox_due", table_name="channel_outbox")
    op.drop_table("channel_outbox")
    op.drop_index("ix_channel_conversation_ticket", table_name="channel_conversation")
    op.drop_table("channel_conversation")
    op.drop_index("ix_channel_message_ref_external", table_name="channel_message_ref")
    op.drop_table("channel_message_ref")
