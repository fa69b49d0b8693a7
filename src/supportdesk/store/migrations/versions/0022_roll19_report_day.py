"""The per-day report rollup ``report_day`` and the triggers that keep it (issue 19).

The table, its triggers and its first fill are those of :mod:`supportdesk.store.rollup`, on
SQLite and PostgreSQL alike. The fill reads ``ticket_timing`` once (a few seconds per million
tickets). Downgrading drops the triggers, then the table: nothing else refers to it.

Revision ID: 0022_roll19_report_day
Revises: 0021_pg_fulltext
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op
from sqlalchemy import text

from supportdesk.store import rollup

revision: str = "0022_roll19_report_day"
down_revision: str | None = "0021_pg_fulltext"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    for statement in rollup.create_statements(bind.dialect.name):
        bind.execute(text(statement))


def downgrade() -> None:
    bind = op.get_bind()
    for statement in rollup.drop_statements(bind.dialect.name):
        bind.execute(text(statement))
