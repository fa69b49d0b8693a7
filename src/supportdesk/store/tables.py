"""The store's tables as plain SQLAlchemy Core, for the write path — GENERATED, do not edit.

Rendered from the SQLModel classes (supportdesk.store.models) by
``python -m supportdesk.store.tables_source``; tests/store/test_tables.py proves the two equal.
Importing this builds no SQLModel class (no pydantic model, no ORM mapper), and no table: each
is built when first asked for, through supportdesk.store.core_tables (a write uses a dozen of the ~50).
"""

# ruff: noqa: E501

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Computed,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from supportdesk.store.column_types import AutoString, UTCDateTime
from supportdesk.store.enums import Channel, Priority, Role, Status, TicketType
from supportdesk.store.times import utcnow

metadata = MetaData()


def _agent() -> Table:
    return Table(
        "agent",
        metadata,
        Column("id", AutoString(length=36), primary_key=True, nullable=False, unique=False, index=False),
        Column("name", AutoString(length=200), nullable=False, unique=False, index=False),
        Column("email", AutoString(length=320), nullable=False, unique=True, index=False),
        Column("role", String(length=20), nullable=False, unique=False, index=False, default=Role.AGENT),
        Column("active", Boolean(), nullable=False, unique=False, index=False, default=True),
        Column("created_at", UTCDateTime(), nullable=False, unique=False, index=False, default=utcnow),
        Column("updated_at", UTCDateTime(), nullable=False, unique=False, index=False, default=utcnow),
    )


def _agent_group() -> Table:
    return Table(
        "agent_group",
        metadata,
        Column(
            "agent_id",
            AutoString(length=36),
            ForeignKey("agent.id"),
            primary_key=True,
            nullable=False,
            unique=False,
            index=False,
        ),
        Column(
            "group_id",
            AutoString(length=36),
            ForeignKey("groups.id"),
            primary_key=True,
            nullable=False,
            unique=False,
            index=False,
        ),
    )


def _api_idempotency() -> Table:
    return Table(
        "api_idempotency",
        metadata,
        Column("agent_id", AutoString(length=36), primary_key=True, nullable=False, unique=False, index=False),
        Column("key", AutoString(length=255), primary_key=True, nullable=False, unique=False, index=False),
        Column("fingerprint", AutoString(length=64), nullable=False, unique=False, index=False),
        Column("status", Integer(), nullable=False, unique=False, index=False, default=0),
        Column("response", JSON(), nullable=True),
        Column("headers", JSON(), nullable=True),
        Column("created_at", UTCDateTime(), nullable=False, unique=False, index=False, default=utcnow),
        Index("ix_api_idempotency_created", "created_at"),
    )


def _api_token() -> Table:
    return Table(
        "api_token",
        metadata,
        Column("id", AutoString(length=36), primary_key=True, nullable=False, unique=False, index=False),
        Column("agent_id", AutoString(length=36), ForeignKey("agent.id"), nullable=False, unique=False, index=True),
        Column("name", AutoString(length=120), nullable=False, unique=False, index=False, default=""),
        Column("token_hash", AutoString(length=128), nullable=False, unique=True, index=False),
        Column("created_at", UTCDateTime(), nullable=False, unique=False, index=False, default=utcnow),
        Column("last_used_at", UTCDateTime(), nullable=True, unique=False, index=False),
        Column("revoked_at", UTCDateTime(), nullable=True, unique=False, index=False),
        Column("expires_at", UTCDateTime(), nullable=True, unique=False, index=False),
        Column("scopes", JSON(), nullable=True),
        Column("group_ids", JSON(), nullable=True),
        Column("rate_per_minute", Integer(), nullable=True, unique=False, index=False),
    )


def _assignment_cursor() -> Table:
    return Table(
        "assignment_cursor",
        metadata,
        Column("group_id", AutoString(length=36), primary_key=True, nullable=False, unique=False, index=False),
        Column("agent_id", AutoString(length=36), nullable=False, unique=False, index=False),
        Column("updated_at", UTCDateTime(), nullable=False, unique=False, index=False, default=utcnow),
    )


def _attachment() -> Table:
    return Table(
        "attachment",
        metadata,
        Column("id", AutoString(length=36), primary_key=True, nullable=False, unique=False, index=False),
        Column("message_id", AutoString(length=36), ForeignKey("message.id"), nullable=False, unique=False, index=True),
        Column("sha256", AutoString(length=64), nullable=False, unique=False, index=True),
        Column("filename", AutoString(length=255), nullable=False, unique=False, index=False),
        Column("size", Integer(), nullable=False, unique=False, index=False),
        Column(
            "content_type",
            AutoString(length=255),
            nullable=False,
            unique=False,
            index=False,
            default="application/octet-stream",
        ),
        Column("sniffed_type", AutoString(length=255), nullable=True, unique=False, index=False),
        Column("created_at", UTCDateTime(), nullable=False, unique=False, index=False, default=utcnow),
    )


def _audit_event() -> Table:
    return Table(
        "audit_event",
        metadata,
        Column("id", Integer(), primary_key=True, nullable=False, unique=False, index=False),
        Column("at", UTCDateTime(), nullable=False, unique=False, index=False, default=utcnow),
        Column("actor_id", AutoString(length=36), nullable=True, unique=False, index=False),
        Column("mutation", AutoString(length=60), nullable=False, unique=False, index=False),
        Column("mutation_ref", AutoString(length=200), nullable=False, unique=False, index=False, default=""),
        Column("entity", AutoString(length=40), nullable=False, unique=False, index=False),
        Column("entity_id", AutoString(length=36), nullable=False, unique=False, index=False),
        Column("field", AutoString(length=60), nullable=False, unique=False, index=False),
        Column("before", JSON(), nullable=True),
        Column("after", JSON(), nullable=True),
        Column("source", AutoString(length=20), nullable=True, unique=False, index=False),
        Index("ix_audit_at", "at"),
        Index("ix_audit_entity", "entity", "entity_id", "id"),
        sqlite_autoincrement=True,
    )


def _automation_firing() -> Table:
    return Table(
        "automation_firing",
        metadata,
        Column("rule_id", AutoString(length=36), primary_key=True, nullable=False, unique=False, index=False),
        Column("ticket_id", AutoString(length=36), primary_key=True, nullable=False, unique=False, index=False),
        Column("fired_at", UTCDateTime(), nullable=False, unique=False, index=False, default=utcnow),
    )


def _blob_holder() -> Table:
    return Table(
        "blob_holder",
        metadata,
        Column("sha256", AutoString(length=64), primary_key=True, nullable=False, unique=False, index=False),
        Column("agent_id", AutoString(length=36), primary_key=True, nullable=False, unique=False, index=False),
        Column("created_at", UTCDateTime(), nullable=False, unique=False, index=False, default=utcnow),
    )


def _change_log() -> Table:
    return Table(
        "change_log",
        metadata,
        Column("seq", Integer(), primary_key=True, nullable=False, autoincrement=False, unique=False, index=False),
        Column("entity", AutoString(length=40), nullable=False, unique=False, index=False),
        Column("entity_id", AutoString(length=80), nullable=False, unique=False, index=False),
        Column("op", AutoString(length=10), nullable=False, unique=False, index=False),
        Column("data", JSON(), nullable=True),
        Column("group_id", AutoString(length=36), nullable=True, unique=False, index=False),
        Column("at", UTCDateTime(), nullable=False, unique=False, index=False, default=utcnow),
        Index("ix_change_log_entity", "entity", "entity_id"),
    )


def _channel_autoreply() -> Table:
    return Table(
        "channel_autoreply",
        metadata,
        Column("address", AutoString(length=320), primary_key=True, nullable=False, unique=False, index=False),
        Column("window_start", UTCDateTime(), nullable=False, unique=False, index=False, default=utcnow),
        Column("count", Integer(), nullable=False, unique=False, index=False, default=0),
    )


def _channel_conversation() -> Table:
    return Table(
        "channel_conversation",
        metadata,
        Column("channel", AutoString(length=20), primary_key=True, nullable=False, unique=False, index=False),
        Column("external_id", AutoString(length=500), primary_key=True, nullable=False, unique=False, index=False),
        Column("ticket_id", AutoString(length=36), nullable=False, unique=False, index=False),
        Column("created_at", UTCDateTime(), nullable=False, unique=False, index=False, default=utcnow),
        Column("updated_at", UTCDateTime(), nullable=False, unique=False, index=False, default=utcnow),
        Index("ix_channel_conversation_ticket", "ticket_id"),
    )


def _channel_imap_mailbox() -> Table:
    return Table(
        "channel_imap_mailbox",
        metadata,
        Column("mailbox", AutoString(length=600), primary_key=True, nullable=False, unique=False, index=False),
        Column("address", AutoString(length=320), nullable=False, unique=False, index=False),
        Column("uidvalidity", BigInteger(), nullable=True, unique=False, index=False),
        Column("last_uid", BigInteger(), nullable=False, unique=False, index=False, default=0),
        Column("baseline_uid", BigInteger(), nullable=False, unique=False, index=False, default=0),
        Column("ingested", Integer(), nullable=False, unique=False, index=False, default=0),
        Column("kept_aside", Integer(), nullable=False, unique=False, index=False, default=0),
        Column("last_kept_aside", Text(), nullable=True, unique=False, index=False),
        Column("last_error", Text(), nullable=True, unique=False, index=False),
        Column("last_error_at", UTCDateTime(), nullable=True, unique=False, index=False),
        Column("connected_at", UTCDateTime(), nullable=True, unique=False, index=False),
        Column("checked_at", UTCDateTime(), nullable=True, unique=False, index=False),
    )


def _channel_message_ref() -> Table:
    return Table(
        "channel_message_ref",
        metadata,
        Column("channel", AutoString(length=20), primary_key=True, nullable=False, unique=False, index=False),
        Column("scope", AutoString(length=320), primary_key=True, nullable=False, unique=False, index=False),
        Column("external_id", AutoString(length=500), primary_key=True, nullable=False, unique=False, index=False),
        Column("message_id", AutoString(length=36), nullable=False, unique=False, index=False),
        Column("ticket_id", AutoString(length=36), nullable=True, unique=False, index=False),
        Column("created_at", UTCDateTime(), nullable=False, unique=False, index=False, default=utcnow),
        Index("ix_channel_message_ref_external", "channel", "external_id"),
        Index("ix_channel_message_ref_message", "message_id"),
        Index("ix_channel_message_ref_ticket", "ticket_id"),
    )


def _channel_outbox() -> Table:
    return Table(
        "channel_outbox",
        metadata,
        Column("key", AutoString(length=120), primary_key=True, nullable=False, unique=False, index=False),
        Column("channel", AutoString(length=20), nullable=False, unique=False, index=False),
        Column("kind", AutoString(length=20), nullable=False, unique=False, index=False, default="reply"),
        Column("ticket_id", AutoString(length=36), nullable=True, unique=False, index=False),
        Column("message_id", AutoString(length=36), nullable=True, unique=False, index=False),
        Column("recipient", AutoString(length=2000), nullable=False, unique=False, index=False),
        Column("header_id", AutoString(length=500), nullable=True, unique=False, index=False),
        Column("payload", Text(), nullable=False, unique=False, index=False),
        Column("status", AutoString(length=20), nullable=False, unique=False, index=False, default="queued"),
        Column("attempts", Integer(), nullable=False, unique=False, index=False, default=0),
        Column("next_attempt_at", UTCDateTime(), nullable=False, unique=False, index=False, default=utcnow),
        Column("claimed_until", UTCDateTime(), nullable=True, unique=False, index=False),
        Column("last_error", AutoString(), nullable=True, unique=False, index=False),
        Column("created_at", UTCDateTime(), nullable=False, unique=False, index=False, default=utcnow),
        Column("sent_at", UTCDateTime(), nullable=True, unique=False, index=False),
        UniqueConstraint("header_id", name="uq_channel_outbox_header_id"),
        Index("ix_channel_outbox_due", "status", "next_attempt_at"),
        Index("ix_channel_outbox_ticket", "ticket_id"),
    )


def _counter() -> Table:
    return Table(
        "counter",
        metadata,
        Column("name", AutoString(length=40), primary_key=True, nullable=False, unique=False, index=False),
        Column("value", Integer(), nullable=False, unique=False, index=False, default=0),
    )


def _customer() -> Table:
    return Table(
        "customer",
        metadata,
        Column("id", AutoString(length=36), primary_key=True, nullable=False, unique=False, index=False),
        Column("name", AutoString(length=300), nullable=False, unique=False, index=False, default=""),
        Column("organization_id", AutoString(), ForeignKey("organization.id"), nullable=True, unique=False, index=True),
        Column("notes", AutoString(), nullable=False, unique=False, index=False, default=""),
        Column("locale", AutoString(length=20), nullable=False, unique=False, index=False, default="en"),
        Column("merged_into_id", AutoString(), ForeignKey("customer.id"), nullable=True, unique=False, index=False),
        Column("erased_at", UTCDateTime(), nullable=True, unique=False, index=False),
        Column("created_at", UTCDateTime(), nullable=False, unique=False, index=False, default=utcnow),
        Column("updated_at", UTCDateTime(), nullable=False, unique=False, index=False, default=utcnow),
    )


def _draft() -> Table:
    return Table(
        "draft",
        metadata,
        Column("ticket_id", AutoString(length=36), primary_key=True, nullable=False, unique=False, index=False),
        Column("kind", AutoString(length=10), primary_key=True, nullable=False, unique=False, index=False),
        Column("body", AutoString(), nullable=False, unique=False, index=False, default=""),
        Column("state", JSON(), nullable=False),
        Column("updated_at", UTCDateTime(), nullable=False, unique=False, index=False, default=utcnow),
    )


def _groups() -> Table:
    return Table(
        "groups",
        metadata,
        Column("id", AutoString(length=36), primary_key=True, nullable=False, unique=False, index=False),
        Column("name", AutoString(length=120), nullable=False, unique=True, index=False),
        Column("email", AutoString(length=320), nullable=True, unique=True, index=False),
        Column("description", AutoString(), nullable=False, unique=False, index=False, default=""),
        Column("created_at", UTCDateTime(), nullable=False, unique=False, index=False, default=utcnow),
        Column("updated_at", UTCDateTime(), nullable=False, unique=False, index=False, default=utcnow),
    )


def _handle_time() -> Table:
    return Table(
        "handle_time",
        metadata,
        Column("id", AutoString(length=36), primary_key=True, nullable=False, unique=False, index=False),
        Column("ticket_id", AutoString(length=36), ForeignKey("ticket.id"), nullable=False, unique=False, index=False),
        Column("agent_id", AutoString(length=36), ForeignKey("agent.id"), nullable=False, unique=False, index=False),
        Column("seconds", Integer(), nullable=False, unique=False, index=False),
        Column("at", UTCDateTime(), nullable=False, unique=False, index=False, default=utcnow),
        Index("ix_handle_time_at", "at", "agent_id", "ticket_id", "seconds"),
        Index("ix_handle_time_ticket", "ticket_id"),
    )


def _help_activity() -> Table:
    return Table(
        "help_activity",
        metadata,
        Column("day", AutoString(length=10), primary_key=True, nullable=False, unique=False, index=False),
        Column("kind", AutoString(length=24), primary_key=True, nullable=False, unique=False, index=False),
        Column(
            "article_id", AutoString(length=36), primary_key=True, nullable=False, unique=False, index=False, default=""
        ),
        Column("count", Integer(), nullable=False, unique=False, index=False, default=0),
        Index("ix_help_activity_kind_article", "kind", "article_id", "count"),
    )


def _help_day() -> Table:
    return Table(
        "help_day",
        metadata,
        Column("id", AutoString(length=10), primary_key=True, nullable=False, unique=False, index=False),
        Column("searches", Integer(), nullable=False, unique=False, index=False, default=0),
        Column("searches_empty", Integer(), nullable=False, unique=False, index=False, default=0),
        Column("views", Integer(), nullable=False, unique=False, index=False, default=0),
        Column("deflections", Integer(), nullable=False, unique=False, index=False, default=0),
        Column("updated_at", UTCDateTime(), nullable=False, unique=False, index=False, default=utcnow),
    )


def _help_deflection() -> Table:
    return Table(
        "help_deflection",
        metadata,
        Column("form_id", AutoString(length=36), primary_key=True, nullable=False, unique=False, index=False),
        Column("article_id", AutoString(length=36), primary_key=True, nullable=False, unique=False, index=False),
        Column("opened_at", UTCDateTime(), nullable=False, unique=False, index=False, default=utcnow),
        Index("ix_help_deflection_opened", "opened_at"),
    )


def _help_login() -> Table:
    return Table(
        "help_login",
        metadata,
        Column("id", AutoString(length=36), primary_key=True, nullable=False, unique=False, index=False),
        Column("customer_id", AutoString(length=36), nullable=False, unique=False, index=False),
        Column("created_at", UTCDateTime(), nullable=False, unique=False, index=False, default=utcnow),
        Column("expires_at", UTCDateTime(), nullable=False, unique=False, index=False, default=utcnow),
        Column("used_at", UTCDateTime(), nullable=True, unique=False, index=False),
        Index("ix_help_login_expires", "expires_at"),
    )


def _help_session() -> Table:
    return Table(
        "help_session",
        metadata,
        Column("token_hash", AutoString(length=64), primary_key=True, nullable=False, unique=False, index=False),
        Column("customer_id", AutoString(length=36), nullable=False, unique=False, index=False),
        Column("created_at", UTCDateTime(), nullable=False, unique=False, index=False, default=utcnow),
        Column("expires_at", UTCDateTime(), nullable=False, unique=False, index=False, default=utcnow),
        Index("ix_help_session_customer", "customer_id"),
    )


def _help_vote() -> Table:
    return Table(
        "help_vote",
        metadata,
        Column("article_id", AutoString(length=36), primary_key=True, nullable=False, unique=False, index=False),
        Column("voter", AutoString(length=64), primary_key=True, nullable=False, unique=False, index=False),
        Column("helpful", Boolean(), nullable=False, unique=False, index=False, default=True),
        Column("at", UTCDateTime(), nullable=False, unique=False, index=False, default=utcnow),
    )


def _identity() -> Table:
    return Table(
        "identity",
        metadata,
        Column("id", AutoString(length=36), primary_key=True, nullable=False, unique=False, index=False),
        Column(
            "customer_id", AutoString(length=36), ForeignKey("customer.id"), nullable=False, unique=False, index=True
        ),
        Column("kind", String(length=20), nullable=False, unique=False, index=False),
        Column("value", AutoString(length=320), nullable=False, unique=False, index=False),
        Column("is_primary", Boolean(), nullable=False, unique=False, index=False, default=False),
        Column("created_at", UTCDateTime(), nullable=False, unique=False, index=False, default=utcnow),
        UniqueConstraint("kind", "value", name="uq_identity_kind_value"),
    )


def _kb_article() -> Table:
    return Table(
        "kb_article",
        metadata,
        Column("id", AutoString(length=36), primary_key=True, nullable=False, unique=False, index=False),
        Column("slug", AutoString(length=200), nullable=False, unique=True, index=False),
        Column("title", AutoString(length=300), nullable=False, unique=False, index=False),
        Column("body", AutoString(), nullable=False, unique=False, index=False, default=""),
        Column("tags", AutoString(), nullable=False, unique=False, index=False, default=""),
        Column("locale", AutoString(length=20), nullable=False, unique=False, index=False, default="en"),
        Column("public", Boolean(), nullable=False, unique=False, index=True, default=False),
        Column("section", AutoString(length=120), nullable=False, unique=False, index=False, default=""),
        Column("helpful_votes", Integer(), nullable=False, unique=False, index=False, default=0),
        Column("unhelpful_votes", Integer(), nullable=False, unique=False, index=False, default=0),
        Column("created_at", UTCDateTime(), nullable=False, unique=False, index=False, default=utcnow),
        Column("updated_at", UTCDateTime(), nullable=False, unique=False, index=False, default=utcnow),
    )


def _macro() -> Table:
    return Table(
        "macro",
        metadata,
        Column("id", AutoString(length=36), primary_key=True, nullable=False, unique=False, index=False),
        Column("name", AutoString(length=200), nullable=False, unique=True, index=False),
        Column("description", AutoString(), nullable=False, unique=False, index=False, default=""),
        Column("actions", JSON(), nullable=False),
        Column("body", AutoString(), nullable=False, unique=False, index=False, default=""),
        Column("public", Boolean(), nullable=False, unique=False, index=False, default=True),
        Column("active", Boolean(), nullable=False, unique=False, index=False, default=True),
        Column("created_at", UTCDateTime(), nullable=False, unique=False, index=False, default=utcnow),
        Column("updated_at", UTCDateTime(), nullable=False, unique=False, index=False, default=utcnow),
    )


def _message() -> Table:
    return Table(
        "message",
        metadata,
        Column("id", AutoString(length=36), primary_key=True, nullable=False, unique=False, index=False),
        Column("ticket_id", AutoString(length=36), ForeignKey("ticket.id"), nullable=False, unique=False, index=False),
        Column("channel", String(length=20), nullable=False, unique=False, index=False),
        Column("direction", String(length=20), nullable=False, unique=False, index=False),
        Column("public", Boolean(), nullable=False, unique=False, index=False, default=True),
        Column("author_kind", String(length=20), nullable=False, unique=False, index=False),
        Column(
            "author_agent_id", AutoString(length=36), ForeignKey("agent.id"), nullable=True, unique=False, index=False
        ),
        Column(
            "author_customer_id",
            AutoString(length=36),
            ForeignKey("customer.id"),
            nullable=True,
            unique=False,
            index=True,
        ),
        Column("body", AutoString(), nullable=False, unique=False, index=False, default=""),
        Column("meta", JSON(), nullable=False),
        Column("created_at", UTCDateTime(), nullable=False, unique=False, index=False, default=utcnow),
        Index("ix_message_ticket_created", "ticket_id", "created_at"),
    )


def _mutation_result() -> Table:
    return Table(
        "mutation_result",
        metadata,
        Column("client_id", AutoString(length=36), primary_key=True, nullable=False, unique=False, index=False),
        Column(
            "mutation_id", Integer(), primary_key=True, nullable=False, autoincrement=False, unique=False, index=False
        ),
        Column("result", JSON(), nullable=True),
        Column("at", UTCDateTime(), nullable=False, unique=False, index=False, default=utcnow),
    )


def _organization() -> Table:
    return Table(
        "organization",
        metadata,
        Column("id", AutoString(length=36), primary_key=True, nullable=False, unique=False, index=False),
        Column("name", AutoString(length=200), nullable=False, unique=True, index=False),
        Column("domain", AutoString(length=253), nullable=True, unique=False, index=True),
        Column("notes", AutoString(), nullable=False, unique=False, index=False, default=""),
        Column("created_at", UTCDateTime(), nullable=False, unique=False, index=False, default=utcnow),
        Column("updated_at", UTCDateTime(), nullable=False, unique=False, index=False, default=utcnow),
    )


def _outbox() -> Table:
    return Table(
        "outbox",
        metadata,
        Column("id", Integer(), primary_key=True, nullable=False, unique=False, index=False),
        Column("name", AutoString(length=60), nullable=False, unique=False, index=False),
        Column("args", JSON(), nullable=False),
        Column("actor_id", AutoString(length=36), nullable=True, unique=False, index=False),
        Column("created_at", UTCDateTime(), nullable=False, unique=False, index=False, default=utcnow),
        Column("error", AutoString(), nullable=True, unique=False, index=False),
        sqlite_autoincrement=True,
    )


def _outbox_touched() -> Table:
    return Table(
        "outbox_touched",
        metadata,
        Column(
            "outbox_id", Integer(), primary_key=True, nullable=False, autoincrement=False, unique=False, index=False
        ),
        Column("tbl", AutoString(length=40), primary_key=True, nullable=False, unique=False, index=False),
        Column("key", AutoString(length=200), primary_key=True, nullable=False, unique=False, index=False),
    )


def _saved_view() -> Table:
    return Table(
        "saved_view",
        metadata,
        Column("id", AutoString(length=36), primary_key=True, nullable=False, unique=False, index=False),
        Column("name", AutoString(length=120), nullable=False, unique=False, index=False),
        Column("query", AutoString(), nullable=False, unique=False, index=False, default=""),
        Column("sort", AutoString(length=40), nullable=False, unique=False, index=False, default="updated-desc"),
        Column("owner_id", AutoString(length=36), ForeignKey("agent.id"), nullable=True, unique=False, index=False),
        Column("position", Integer(), nullable=False, unique=False, index=False, default=0),
        Column("created_at", UTCDateTime(), nullable=False, unique=False, index=False, default=utcnow),
        Column("updated_at", UTCDateTime(), nullable=False, unique=False, index=False, default=utcnow),
    )


def _sla_calendar() -> Table:
    return Table(
        "sla_calendar",
        metadata,
        Column("id", AutoString(length=36), primary_key=True, nullable=False, unique=False, index=False),
        Column("name", AutoString(length=120), nullable=False, unique=True, index=False),
        Column("timezone", AutoString(length=64), nullable=False, unique=False, index=False),
        Column("hours", JSON(), nullable=False),
        Column("holidays", JSON(), nullable=False),
        Column("created_at", UTCDateTime(), nullable=False, unique=False, index=False, default=utcnow),
        Column("updated_at", UTCDateTime(), nullable=False, unique=False, index=False, default=utcnow),
    )


def _sla_policy() -> Table:
    return Table(
        "sla_policy",
        metadata,
        Column("id", AutoString(length=36), primary_key=True, nullable=False, unique=False, index=False),
        Column("name", AutoString(length=120), nullable=False, unique=True, index=False),
        Column("priority", AutoString(length=20), nullable=False, unique=False, index=False),
        Column("group_id", AutoString(length=36), ForeignKey("groups.id"), nullable=True, unique=False, index=False),
        Column(
            "calendar_id",
            AutoString(length=36),
            ForeignKey("sla_calendar.id"),
            nullable=True,
            unique=False,
            index=False,
        ),
        Column("first_reply_minutes", Integer(), nullable=True, unique=False, index=False),
        Column("next_reply_minutes", Integer(), nullable=True, unique=False, index=False),
        Column("resolution_minutes", Integer(), nullable=True, unique=False, index=False),
        Column("created_at", UTCDateTime(), nullable=False, unique=False, index=False, default=utcnow),
        Column("updated_at", UTCDateTime(), nullable=False, unique=False, index=False, default=utcnow),
    )


def _survey() -> Table:
    return Table(
        "survey",
        metadata,
        Column("id", AutoString(length=36), primary_key=True, nullable=False, unique=False, index=False),
        Column("ticket_id", AutoString(length=36), ForeignKey("ticket.id"), nullable=False, unique=False, index=False),
        Column("issued_at", UTCDateTime(), nullable=False, unique=False, index=False, default=utcnow),
        Column("answered_at", UTCDateTime(), nullable=True, unique=False, index=False),
        Column("csat", AutoString(length=4), nullable=True, unique=False, index=False),
        Column("comment", AutoString(), nullable=False, unique=False, index=False, default=""),
        Column("ces", Integer(), nullable=True, unique=False, index=False),
        Column("nps", Integer(), nullable=True, unique=False, index=False),
        Column("message_id", AutoString(length=36), nullable=True, unique=False, index=False),
        Index("ix_survey_answered", "answered_at"),
        Index("ix_survey_ticket", "ticket_id"),
    )


def _sync_client() -> Table:
    return Table(
        "sync_client",
        metadata,
        Column("client_id", AutoString(length=36), primary_key=True, nullable=False, unique=False, index=False),
        Column("agent_id", AutoString(length=36), ForeignKey("agent.id"), nullable=False, unique=False, index=False),
        Column("last_mutation_id", Integer(), nullable=False, unique=False, index=False, default=0),
        Column("created_at", UTCDateTime(), nullable=False, unique=False, index=False, default=utcnow),
        Column("updated_at", UTCDateTime(), nullable=False, unique=False, index=False, default=utcnow),
    )


def _sync_state() -> Table:
    return Table(
        "sync_state",
        metadata,
        Column("id", Integer(), primary_key=True, nullable=False, unique=False, index=False, default=1),
        Column("client_id", AutoString(length=36), nullable=False, unique=False, index=False),
        Column("server_url", AutoString(), nullable=True, unique=False, index=False),
        Column("profile", AutoString(), nullable=True, unique=False, index=False),
        Column("cursor", Integer(), nullable=False, unique=False, index=False, default=0),
        Column("last_acked_mutation_id", Integer(), nullable=False, unique=False, index=False, default=0),
        Column("bootstrap", JSON(), nullable=False),
        Column("last_pull_at", UTCDateTime(), nullable=True, unique=False, index=False),
        Column("last_push_at", UTCDateTime(), nullable=True, unique=False, index=False),
        Column("last_error", AutoString(), nullable=True, unique=False, index=False),
    )


def _ticket() -> Table:
    return Table(
        "ticket",
        metadata,
        Column("id", AutoString(length=36), primary_key=True, nullable=False, unique=False, index=False),
        Column("number", Integer(), nullable=True, unique=True, index=False),
        Column("subject", AutoString(length=1000), nullable=False, unique=False, index=False, default=""),
        Column("status", String(length=20), nullable=False, unique=False, index=False, default=Status.NEW),
        Column("priority", String(length=20), nullable=False, unique=False, index=False, default=Priority.NORMAL),
        Column(
            "priority_rank",
            Integer(),
            Computed(
                text(
                    "CASE priority WHEN 'low' THEN 1 WHEN 'normal' THEN 2 WHEN 'high' THEN 3 WHEN 'urgent' THEN 4 ELSE 0 END"
                ),
                persisted=True,
            ),
            nullable=True,
        ),
        Column("type", String(length=20), nullable=False, unique=False, index=False, default=TicketType.QUESTION),
        Column("channel", String(length=20), nullable=False, unique=False, index=False, default=Channel.WEB),
        Column("group_id", AutoString(length=36), ForeignKey("groups.id"), nullable=True, unique=False, index=False),
        Column("assignee_id", AutoString(length=36), ForeignKey("agent.id"), nullable=True, unique=False, index=False),
        Column(
            "requester_id", AutoString(length=36), ForeignKey("customer.id"), nullable=False, unique=False, index=False
        ),
        Column("problem_id", AutoString(), ForeignKey("ticket.id"), nullable=True, unique=False, index=True),
        Column("merged_into_id", AutoString(), ForeignKey("ticket.id"), nullable=True, unique=False, index=False),
        Column("follow_up_of_id", AutoString(), ForeignKey("ticket.id"), nullable=True, unique=False, index=False),
        Column("fields", JSON(), nullable=False),
        Column("created_at", UTCDateTime(), nullable=False, unique=False, index=False, default=utcnow),
        Column("updated_at", UTCDateTime(), nullable=False, unique=False, index=False, default=utcnow),
        Column("first_response_at", UTCDateTime(), nullable=True, unique=False, index=False),
        Column("solved_at", UTCDateTime(), nullable=True, unique=False, index=False),
        Column("language", AutoString(length=35), nullable=True, unique=False, index=False),
        Column("language_confidence", Float(), nullable=True, unique=False, index=False),
        Column("sentiment", AutoString(length=20), nullable=True, unique=False, index=False),
        Column("sentiment_score", Float(), nullable=True, unique=False, index=False),
        Column("sentiment_confidence", Float(), nullable=True, unique=False, index=False),
        Column("intent", AutoString(length=40), nullable=True, unique=False, index=False),
        Column("intent_confidence", Float(), nullable=True, unique=False, index=False),
        Column("snoozed_until", UTCDateTime(), nullable=True, unique=False, index=True),
        Column("snoozed_by_id", AutoString(length=36), nullable=True, unique=False, index=False),
        Index("ix_ticket_assignee_status", "assignee_id", "status"),
        Index("ix_ticket_assignee_updated", "assignee_id", "updated_at", "id"),
        Index("ix_ticket_created", "created_at", "id"),
        Index("ix_ticket_group_status", "group_id", "status"),
        Index("ix_ticket_group_updated", "group_id", "updated_at", "id"),
        Index("ix_ticket_priority_updated", "priority_rank", "updated_at", "id"),
        Index("ix_ticket_requester_updated", "requester_id", "updated_at", "id"),
        Index("ix_ticket_sentiment", "sentiment"),
        Index("ix_ticket_solved", "solved_at"),
        Index("ix_ticket_status_priority", "status", "priority_rank"),
        Index("ix_ticket_status_solved", "status", "solved_at"),
        Index("ix_ticket_status_updated", "status", "updated_at", "id"),
        Index("ix_ticket_updated", "updated_at", "id"),
    )


def _ticket_late_indexes(table: Table) -> None:
    Index(
        "ix_ticket_unsolved_assignee",
        table.c["assignee_id"],
        table.c["updated_at"],
        table.c["id"],
        postgresql_where=text("status IN ('new', 'open', 'pending', 'on_hold')"),
        sqlite_where=text("status IN ('new', 'open', 'pending', 'on_hold')"),
    )
    Index(
        "ix_ticket_unsolved_updated",
        table.c["updated_at"],
        table.c["id"],
        postgresql_where=text("status IN ('new', 'open', 'pending', 'on_hold')"),
        sqlite_where=text("status IN ('new', 'open', 'pending', 'on_hold')"),
    )


def _ticket_seen() -> Table:
    return Table(
        "ticket_seen",
        metadata,
        Column("ticket_id", AutoString(length=36), primary_key=True, nullable=False, unique=False, index=False),
        Column("seen_at", UTCDateTime(), nullable=False, unique=False, index=False, default=utcnow),
    )


def _ticket_tag() -> Table:
    return Table(
        "ticket_tag",
        metadata,
        Column(
            "ticket_id",
            AutoString(length=36),
            ForeignKey("ticket.id"),
            primary_key=True,
            nullable=False,
            unique=False,
            index=False,
        ),
        Column("tag", AutoString(length=80), primary_key=True, nullable=False, unique=False, index=False),
        Index("ix_ticket_tag_tag", "tag", "ticket_id"),
    )


def _ticket_timing() -> Table:
    return Table(
        "ticket_timing",
        metadata,
        Column("ticket_id", AutoString(length=36), primary_key=True, nullable=False, unique=False, index=False),
        Column("created_at", UTCDateTime(), nullable=False, unique=False, index=False, default=utcnow),
        Column("solved_at", UTCDateTime(), nullable=True, unique=False, index=False),
        Column("done_at", UTCDateTime(), nullable=True, unique=False, index=False),
        Column("channel", AutoString(length=20), nullable=False, unique=False, index=False, default="web"),
        Column("group_id", AutoString(length=36), nullable=True, unique=False, index=False),
        Column("assignee_id", AutoString(length=36), nullable=True, unique=False, index=False),
        Column("policy_id", AutoString(length=36), nullable=True, unique=False, index=False),
        Column(
            "due_at",
            UTCDateTime(),
            nullable=False,
            unique=False,
            index=False,
            default=datetime(9999, 12, 31, 0, 0, tzinfo=UTC),
        ),
        Column("breach_at", UTCDateTime(), nullable=True, unique=False, index=False),
        Column("paused", Boolean(), nullable=False, unique=False, index=False, default=False),
        Column("first_reply_due", UTCDateTime(), nullable=True, unique=False, index=False),
        Column("next_reply_due", UTCDateTime(), nullable=True, unique=False, index=False),
        Column("resolution_due", UTCDateTime(), nullable=True, unique=False, index=False),
        Column("sla_met", Integer(), nullable=False, unique=False, index=False, default=0),
        Column("sla_missed", Integer(), nullable=False, unique=False, index=False, default=0),
        Column("first_reply_s", Integer(), nullable=True, unique=False, index=False),
        Column("replies", Integer(), nullable=False, unique=False, index=False, default=0),
        Column("next_reply_total_s", Integer(), nullable=False, unique=False, index=False, default=0),
        Column("next_reply_count", Integer(), nullable=False, unique=False, index=False, default=0),
        Column("resolution_s", Integer(), nullable=True, unique=False, index=False),
        Column("reopens", Integer(), nullable=False, unique=False, index=False, default=0),
        Column("handle_s", Integer(), nullable=False, unique=False, index=False, default=0),
        Column("history", JSON(), nullable=False),
        Column("clocks", JSON(), nullable=False),
        Index("ix_ticket_timing_breach", "breach_at"),
        Index(
            "ix_ticket_timing_created",
            "created_at",
            "channel",
            "group_id",
            "assignee_id",
            "first_reply_s",
            "sla_met",
            "sla_missed",
            "first_reply_due",
            "next_reply_due",
            "resolution_due",
            "next_reply_total_s",
            "next_reply_count",
        ),
        Index("ix_ticket_timing_done", "done_at", "channel", "group_id", "assignee_id"),
        Index("ix_ticket_timing_due", "due_at", "ticket_id"),
        Index(
            "ix_ticket_timing_solved",
            "solved_at",
            "channel",
            "group_id",
            "assignee_id",
            "resolution_s",
            "replies",
            "reopens",
        ),
        Index("ix_ticket_timing_ticket", "ticket_id", "channel", "group_id", "assignee_id"),
    )


def _time_entry() -> Table:
    return Table(
        "time_entry",
        metadata,
        Column("id", AutoString(length=36), primary_key=True, nullable=False, unique=False, index=False),
        Column("ticket_id", AutoString(length=36), ForeignKey("ticket.id"), nullable=False, unique=False, index=False),
        Column("agent_id", AutoString(length=36), ForeignKey("agent.id"), nullable=False, unique=False, index=False),
        Column("seconds", Integer(), nullable=False, unique=False, index=False),
        Column("note", AutoString(length=500), nullable=False, unique=False, index=False, default=""),
        Column("at", UTCDateTime(), nullable=False, unique=False, index=False, default=utcnow),
        Column("updated_at", UTCDateTime(), nullable=False, unique=False, index=False, default=utcnow),
        Index("ix_time_entry_at", "at", "agent_id", "ticket_id", "seconds"),
        Index("ix_time_entry_ticket", "ticket_id", "at"),
    )


def _trigger_rule() -> Table:
    return Table(
        "trigger_rule",
        metadata,
        Column("id", AutoString(length=36), primary_key=True, nullable=False, unique=False, index=False),
        Column("name", AutoString(length=120), nullable=False, unique=True, index=False),
        Column("position", Integer(), nullable=False, unique=False, index=False, default=0),
        Column("active", Boolean(), nullable=False, unique=False, index=False, default=True),
        Column("events", JSON(), nullable=False),
        Column("conditions", JSON(), nullable=False),
        Column("actions", JSON(), nullable=False),
        Column("description", AutoString(), nullable=False, unique=False, index=False, default=""),
        Column("created_at", UTCDateTime(), nullable=False, unique=False, index=False, default=utcnow),
        Column("updated_at", UTCDateTime(), nullable=False, unique=False, index=False, default=utcnow),
    )


def _webhook_delivery() -> Table:
    return Table(
        "webhook_delivery",
        metadata,
        Column("id", AutoString(length=36), primary_key=True, nullable=False, unique=False, index=False),
        Column("endpoint_id", AutoString(length=36), nullable=False, unique=False, index=False),
        Column("event_id", AutoString(length=36), nullable=False, unique=False, index=False),
        Column("ticket_id", AutoString(length=36), nullable=True, unique=False, index=False),
        Column("position", Integer(), nullable=False, unique=False, index=False),
        Column("status", AutoString(length=20), nullable=False, unique=False, index=False, default="pending"),
        Column("attempts", Integer(), nullable=False, unique=False, index=False, default=0),
        Column("next_attempt_at", UTCDateTime(), nullable=False, unique=False, index=False, default=utcnow),
        Column("claimed_until", UTCDateTime(), nullable=True, unique=False, index=False),
        Column("give_up_at", UTCDateTime(), nullable=False, unique=False, index=False, default=utcnow),
        Column("last_status", Integer(), nullable=True, unique=False, index=False),
        Column("last_error", Text(), nullable=True, unique=False, index=False),
        Column("delivered_at", UTCDateTime(), nullable=True, unique=False, index=False),
        Column("replay_of", AutoString(length=36), nullable=True, unique=False, index=False),
        Column("created_at", UTCDateTime(), nullable=False, unique=False, index=False, default=utcnow),
        Index("ix_webhook_delivery_due", "status", "next_attempt_at"),
        Index("ix_webhook_delivery_event", "event_id"),
        Index("ix_webhook_delivery_order", "endpoint_id", "ticket_id", "position"),
    )


def _webhook_endpoint() -> Table:
    return Table(
        "webhook_endpoint",
        metadata,
        Column("id", AutoString(length=36), primary_key=True, nullable=False, unique=False, index=False),
        Column("url", AutoString(length=2000), nullable=False, unique=False, index=False),
        Column("description", AutoString(length=200), nullable=False, unique=False, index=False, default=""),
        Column("secret", AutoString(length=100), nullable=False, unique=False, index=False),
        Column("events", JSON(), nullable=False),
        Column("group_ids", JSON(), nullable=True),
        Column("active", Boolean(), nullable=False, unique=False, index=False, default=True),
        Column("created_by", AutoString(length=36), nullable=True, unique=False, index=False),
        Column("created_at", UTCDateTime(), nullable=False, unique=False, index=False, default=utcnow),
        Column("updated_at", UTCDateTime(), nullable=False, unique=False, index=False, default=utcnow),
        Column("last_success_at", UTCDateTime(), nullable=True, unique=False, index=False),
        Column("failing_since", UTCDateTime(), nullable=True, unique=False, index=False),
        Column("disabled_at", UTCDateTime(), nullable=True, unique=False, index=False),
        Column("disabled_reason", AutoString(length=500), nullable=True, unique=False, index=False),
    )


def _webhook_event() -> Table:
    return Table(
        "webhook_event",
        metadata,
        Column("id", AutoString(length=36), primary_key=True, nullable=False, unique=False, index=False),
        Column("position", Integer(), nullable=False, unique=True, index=False),
        Column("type", AutoString(length=40), nullable=False, unique=False, index=False),
        Column("ticket_id", AutoString(length=36), nullable=True, unique=False, index=False),
        Column("group_id", AutoString(length=36), nullable=True, unique=False, index=False),
        Column("payload", JSON(), nullable=False),
        Column("created_at", UTCDateTime(), nullable=False, unique=False, index=False, default=utcnow),
        Index("ix_webhook_event_created", "created_at"),
        Index("ix_webhook_event_ticket", "ticket_id"),
    )


def _workspace_setting() -> Table:
    return Table(
        "workspace_setting",
        metadata,
        Column("key", AutoString(length=80), primary_key=True, nullable=False, unique=False, index=False),
        Column("value", JSON(), nullable=True),
    )


BUILDERS: dict[str, Callable[[], Table]] = {
    "agent": _agent,
    "agent_group": _agent_group,
    "api_idempotency": _api_idempotency,
    "api_token": _api_token,
    "assignment_cursor": _assignment_cursor,
    "attachment": _attachment,
    "audit_event": _audit_event,
    "automation_firing": _automation_firing,
    "blob_holder": _blob_holder,
    "change_log": _change_log,
    "channel_autoreply": _channel_autoreply,
    "channel_conversation": _channel_conversation,
    "channel_imap_mailbox": _channel_imap_mailbox,
    "channel_message_ref": _channel_message_ref,
    "channel_outbox": _channel_outbox,
    "counter": _counter,
    "customer": _customer,
    "draft": _draft,
    "groups": _groups,
    "handle_time": _handle_time,
    "help_activity": _help_activity,
    "help_day": _help_day,
    "help_deflection": _help_deflection,
    "help_login": _help_login,
    "help_session": _help_session,
    "help_vote": _help_vote,
    "identity": _identity,
    "kb_article": _kb_article,
    "macro": _macro,
    "message": _message,
    "mutation_result": _mutation_result,
    "organization": _organization,
    "outbox": _outbox,
    "outbox_touched": _outbox_touched,
    "saved_view": _saved_view,
    "sla_calendar": _sla_calendar,
    "sla_policy": _sla_policy,
    "survey": _survey,
    "sync_client": _sync_client,
    "sync_state": _sync_state,
    "ticket": _ticket,
    "ticket_seen": _ticket_seen,
    "ticket_tag": _ticket_tag,
    "ticket_timing": _ticket_timing,
    "time_entry": _time_entry,
    "trigger_rule": _trigger_rule,
    "webhook_delivery": _webhook_delivery,
    "webhook_endpoint": _webhook_endpoint,
    "webhook_event": _webhook_event,
    "workspace_setting": _workspace_setting,
}

LATE_INDEXES: dict[str, Callable[[Table], None]] = {
    "ticket": _ticket_late_indexes,
}
