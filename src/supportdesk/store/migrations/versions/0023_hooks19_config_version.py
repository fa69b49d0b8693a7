"""``config_version``: a number the database bumps whenever the write path's configuration changes (issue 19).

Triggers on the agents, their groups, the SLA policies and calendars, the routing rules, the
webhook endpoints and the workspace's settings add one to it (see
:mod:`supportdesk.store.config_version`), so a process may keep what it read of them between
transactions and know when to read again. Downgrading drops the triggers and the table.

Revision ID: 0023_hooks19_config_version
Revises: 0022_roll19_report_day
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op
from sqlalchemy import text

from supportdesk.store import config_version

revision: str = "0023_hooks19_config_version"
down_revision: str | None = "0022_roll19_report_day"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    for statement in config_version.create_statements(bind.dialect.name):
        bind.execute(text(statement))


def downgrade() -> None:
    bind = op.get_bind()
    for statement in config_version.drop_statements(bind.dialect.name):
        bind.execute(text(statement))
