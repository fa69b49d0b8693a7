"""Channel rows by ticket and by message, so an erasure finds them without reading every row.

``customer.erase`` removes the channels' own records of the person's tickets and messages (the
outside Message-IDs, conversations and rendered mails in the outbox). Those tables were keyed
for ingest only; on a server with millions of received mails the erasure would scan them inside
its write transaction.

Revision ID: 0010_erasure
Revises: 0009_assist_vectors
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0010_erasure"
down_revision: str | None = "0009_assist_vectors"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_channel_message_ref_ticket", "channel_message_ref", ["ticket_id"])
    op.create_index("ix_channel_message_ref_message", "channel_message_ref", ["message_id"])
    op.create_index("ix_channel_outbox_ticket", "channel_outbox", ["ticket_id"])


def downgrade() -> None:
    op.drop_index("ix_channel_outbox_ticket", table_name="channel_outbox")
    op.drop_index("ix_channel_message_ref_message", table_name="channel_message_ref")
    op.drop_index("ix_channel_message_ref_ticket", table_name="channel_message_ref")
