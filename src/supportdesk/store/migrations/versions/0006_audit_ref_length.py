"""Room for the reference of a rule's action in the audit trail.

A routing rule's actions are recorded as ``<mutation ref>/rule:<rule id>``; after a server-side
reference (``system:…`` or ``<client id>:<n>``) that passes 80 characters, which PostgreSQL
refuses (SQLite does not enforce VARCHAR lengths, so only PostgreSQL needs the change).

Revision ID: 0006_audit_ref_length
Revises: 0005_sla
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_audit_ref_length"
down_revision: str | None = "0005_sla"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("audit_event", "mutation_ref", type_=sa.String(200), existing_type=sa.String(80))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("audit_event", "mutation_ref", type_=sa.String(80), existing_type=sa.String(200))
