"""The ticket's language (``language:de``, ``--set language=de``): one nullable column.

A field of the ticket field table (``store.ticket_fields``) changed with ``ticket.set_field``;
empty until an agent (or, later, triage) sets it.

Revision ID: 0012_domain_language
Revises: 0011_server_token_expiry
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_domain_language"
down_revision: str | None = "0011_server_token_expiry"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # a plain ALTER TABLE … ADD COLUMN on both engines: no copy of a million-row table
    op.add_column("ticket", sa.Column("language", sa.String(length=35), nullable=True))


def downgrade() -> None:
    op.drop_column("ticket", "language")
