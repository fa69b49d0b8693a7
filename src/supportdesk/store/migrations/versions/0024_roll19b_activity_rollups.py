"""Per-day rollups of handle time, logged time and survey answers (issue 19, second part).

``report_activity_day`` and ``report_handle_day``, their triggers on ``survey``, ``time_entry``,
``handle_time`` and ``ticket_timing``, and their first fill, as
:mod:`supportdesk.store.rollup_activity` makes them on SQLite and PostgreSQL. The fill reads the
three tables once. Downgrading drops the triggers, then the tables: nothing else refers to them.

Revision ID: 0024_roll19b_activity_rollups
Revises: 0023_hooks19_config_version
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op
from sqlalchemy import text

from supportdesk.store import rollup_activity

revision: str = "0024_roll19b_activity_rollups"
down_revision: str | None = "0023_hooks19_config_version"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    for statement in rollup_activity.create_statements(bind.dialect.name):
        bind.execute(text(statement))


def downgrade() -> None:
    bind = op.get_bind()
    for statement in rollup_activity.drop_statements(bind.dialect.name):
        bind.execute(text(statement))
