"""API tokens may expire: ``api_token.expires_at`` (``server token create --expires 90d``).

A token past it is refused with a 401 that says it expired; existing tokens keep working until
revoked (the column is empty for them).

Revision ID: 0011_server_token_expiry
Revises: 0010_erasure
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0011_server_token_expiry"
down_revision: str | None = "0010_erasure"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.drop_column("expires_at")
