"""Integrations (issue 20): idempotency keys, outgoing webhooks, token scopes and limits.

``api_idempotency`` keeps a REST write's answer under its key for 24 hours; ``webhook_endpoint``,
``webhook_event`` and ``webhook_delivery`` are the outgoing webhooks (events recorded in the
write's transaction, delivered and retried by the server); ``api_token`` gains ``scopes``,
``group_ids`` and ``rate_per_minute`` (all empty for existing tokens: they keep working as before).

Revision ID: 0016_api_integrations
Revises: 0015_assist2_triage
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0016_api_integrations"
down_revision: str | None = "0015_assist2_triage"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_text = sqlmodel.sql.sqltypes.AutoString
_time = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.add_column(sa.Column("scopes", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("group_ids", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("rate_per_minute", sa.Integer(), nullable=True))
    op.create_table(
        "api_idempotency",
        sa.Column("agent_id", _text(length=36), nullable=False),
        sa.Column("key", _text(length=255), nullable=False),
        sa.Column("fingerprint", _text(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("response", sa.JSON(), nullable=True),
        sa.Column("headers", sa.JSON(), nullable=True),
        sa.Column("created_at", _time(), nullable=False),
        sa.PrimaryKeyConstraint("agent_id", "key"),
    )
    op.create_index("ix_api_idempotency_created", "api_idempotency", ["created_at"])
    op.create_table(
        "webhook_endpoint",
        sa.Column("id", _text(length=36), nullable=False),
        sa.Column("url", _text(length=2000), nullable=False),
        sa.Column("description", _text(length=200), nullable=False),
        sa.Column("secret", _text(length=100), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("group_ids", sa.JSON(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", _text(length=36), nullable=True),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("updated_at", _time(), nullable=False),
        sa.Column("last_success_at", _time(), nullable=True),
        sa.Column("failing_since", _time(), nullable=True),
        sa.Column("disabled_at", _time(), nullable=True),
        sa.Column("disabled_reason", _text(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "webhook_event",
        sa.Column("id", _text(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("type", _text(length=40), nullable=False),
        sa.Column("ticket_id", _text(length=36), nullable=True),
        sa.Column("group_id", _text(length=36), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", _time(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("position"),
    )
    op.create_index("ix_webhook_event_ticket", "webhook_event", ["ticket_id"])
    op.create_index("ix_webhook_event_created", "webhook_event", ["created_at"])
    op.create_table(
        "webhook_delivery",
        sa.Column("id", _text(length=36), nullable=False),
        sa.Column("endpoint_id", _text(length=36), nullable=False),
        sa.Column("event_id", _text(length=36), nullable=False),
        sa.Column("ticket_id", _text(length=36), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("status", _text(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _time(), nullable=False),
        sa.Column("claimed_until", _time(), nullable=True),
        sa.Column("give_up_at", _time(), nullable=False),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("delivered_at", _time(), nullable=True),
        sa.Column("replay_of", _text(length=36), nullable=True),
        sa.Column("created_at", _time(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_webhook_delivery_due", "webhook_delivery", ["status", "next_attempt_at"])
    op.create_index("ix_webhook_delivery_order", "webhook_delivery", ["endpoint_id", "ticket_id", "position"])
    op.create_index("ix_webhook_delivery_event", "webhook_delivery", ["event_id"])
    # the events' positions (webhooks.record_events), a row made up front so two first events cannot race
    op.execute("INSERT INTO counter (name, value) VALUES ('webhook_event', 0)")


def downgrade() -> None:
    op.execute("DELETE FROM counter WHERE name = 'webhook_event'")
    op.drop_table("webhook_delivery")
    op.drop_table("webhook_event")
    op.drop_table("webhook_endpoint")
    op.drop_table("api_idempotency")
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.drop_column("rate_per_minute")
        batch_op.drop_column("group_ids")
        batch_op.drop_column("scopes")
