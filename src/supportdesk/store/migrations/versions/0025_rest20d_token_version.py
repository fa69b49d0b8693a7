"""``token_version``: a number the database bumps whenever a token's worth may have changed (issue 20).

Triggers on the API tokens (every column but ``last_used_at``), the agents and their group
memberships add one to it (see :mod:`supportdesk.store.token_version`), so a server process on
SQLite may keep its token checks and still honour, on the next request, a revocation made by a
command in another process. Downgrading drops the triggers and the table.

Revision ID: 0025_rest20d_token_version
Revises: 0024_roll19b_activity_rollups
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op
from sqlalchemy import text

from supportdesk.store import token_version

revision: str = "0025_rest20d_token_version"
down_revision: str | None = "0024_roll19b_activity_rollups"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    for statement in token_version.create_statements(bind.dialect.name):
        bind.execute(text(statement))


def downgrade() -> None:
    bind = op.get_bind()
    for statement in token_version.drop_statements(bind.dialect.name):
        bind.execute(text(statement))
