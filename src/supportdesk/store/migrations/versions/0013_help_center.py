"""The help center: public articles in sections with their votes, and the server's own counters.

``kb_article`` gains ``public`` (shown at ``/help``), ``section`` and the two vote counts; the
server keeps page views, searches, each browser's latest vote, the web form's pending
deflections and the portal's sign-in links and sessions in tables of its own (never synced).

Revision ID: 0013_help_center
Revises: 0012_domain_language
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_help_center"
down_revision: str | None = "0012_domain_language"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # plain ADD COLUMNs with constant defaults: no copy of the table on either engine
    op.add_column("kb_article", sa.Column("public", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column("kb_article", sa.Column("section", sa.String(length=120), nullable=False, server_default=""))
    op.add_column("kb_article", sa.Column("helpful_votes", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("kb_article", sa.Column("unhelpful_votes", sa.Integer(), nullable=False, server_default="0"))
    op.create_index("ix_kb_article_public", "kb_article", ["public"])
    op.create_table(
        "help_activity",
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("article_id", sa.String(length=36), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "kind", "article_id"),
    )
    op.create_index("ix_help_activity_kind_article", "help_activity", ["kind", "article_id", "count"])
    op.create_table(
        "help_vote",
        sa.Column("article_id", sa.String(length=36), nullable=False),
        sa.Column("voter", sa.String(length=64), nullable=False),
        sa.Column("helpful", sa.Boolean(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("article_id", "voter"),
    )
    op.create_table(
        "help_deflection",
        sa.Column("form_id", sa.String(length=36), nullable=False),
        sa.Column("article_id", sa.String(length=36), nullable=False),
        sa.Column("opened_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("form_id", "article_id"),
    )
    op.create_index("ix_help_deflection_opened", "help_deflection", ["opened_at"])
    op.create_table(
        "help_login",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("customer_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_help_login_expires", "help_login", ["expires_at"])
    op.create_table(
        "help_session",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_index("ix_help_session_customer", "help_session", ["customer_id"])


def downgrade() -> None:
    op.drop_index("ix_help_session_customer", table_name="help_session")
    op.drop_table("help_session")
    op.drop_index("ix_help_login_expires", table_name="help_login")
    op.drop_table("help_login")
    op.drop_index("ix_help_deflection_opened", table_name="help_deflection")
    op.drop_table("help_deflection")
    op.drop_table("help_vote")
    op.drop_index("ix_help_activity_kind_article", table_name="help_activity")
    op.drop_table("help_activity")
    op.drop_index("ix_kb_article_public", table_name="kb_article")
    with op.batch_alter_table("kb_article") as batch:
        for column in ("unhelpful_votes", "helpful_votes", "section", "public"):
            batch.drop_column(column)
