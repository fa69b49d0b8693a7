"""The server's tables for integrations: idempotency keys and outgoing webhooks.

Server-only (never synced, empty on a workspace): :mod:`supportdesk.server.idempotency` keeps a
REST write's answer under its ``Idempotency-Key`` for 24 hours; :mod:`supportdesk.server.webhooks`
records the events of each write in that write's transaction and delivers them to the endpoints
admins registered, one delivery row per event and endpoint. Token scopes, group restrictions and
rate limits are columns of ``api_token`` (:mod:`supportdesk.store.models`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text
from sqlmodel import Field, SQLModel

from supportdesk.store.times import utcnow


class ApiIdempotency(SQLModel, table=True):
    """The answer a REST write gave, under the caller's ``Idempotency-Key`` (per agent)."""

    __tablename__ = "api_idempotency"
    __table_args__ = (Index("ix_api_idempotency_created", "created_at"),)

    agent_id: str = Field(primary_key=True, max_length=36)
    key: str = Field(primary_key=True, max_length=255)
    #: SHA-256 of the method, the path and the canonical JSON body: another body is a 422.
    fingerprint: str = Field(max_length=64)
    status: int = 0
    response: Any = Field(default=None, sa_column=Column(JSON, nullable=True))
    headers: Any = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_at: datetime = Field(default_factory=utcnow)


class WebhookEndpoint(SQLModel, table=True):
    """A URL an admin registered to be told about events, with the secret deliveries are signed with."""

    __tablename__ = "webhook_endpoint"

    id: str = Field(primary_key=True, max_length=36)
    url: str = Field(max_length=2000)
    description: str = Field(default="", max_length=200)
    secret: str = Field(max_length=100)
    #: The event types it receives (``ticket.created`` …).
    events: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    #: Only tickets of these groups (and tickets with no group); None: every ticket.
    group_ids: Any = Field(default=None, sa_column=Column(JSON, nullable=True))
    active: bool = True
    created_by: str | None = Field(default=None, max_length=36)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    last_success_at: datetime | None = None
    #: When the current run of failures began (None while deliveries succeed).
    failing_since: datetime | None = None
    disabled_at: datetime | None = None
    disabled_reason: str | None = Field(default=None, max_length=500)


class WebhookEvent(SQLModel, table=True):
    """Something that happened to a ticket, recorded in the transaction that made it happen.

    ``position`` comes from the ``webhook_event`` counter, locked until commit, so positions
    commit in order and a ticket's events are delivered in the order they happened.
    """

    __tablename__ = "webhook_event"
    __table_args__ = (Index("ix_webhook_event_ticket", "ticket_id"), Index("ix_webhook_event_created", "created_at"))

    id: str = Field(primary_key=True, max_length=36)
    position: int = Field(unique=True)
    type: str = Field(max_length=40)
    ticket_id: str | None = Field(default=None, max_length=36)
    group_id: str | None = Field(default=None, max_length=36)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class WebhookDelivery(SQLModel, table=True):
    """One event on its way to one endpoint: retried with backoff until delivered or 24 h passed."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        Index("ix_webhook_delivery_due", "status", "next_attempt_at"),
        Index("ix_webhook_delivery_order", "endpoint_id", "ticket_id", "position"),
        Index("ix_webhook_delivery_event", "event_id"),
    )

    id: str = Field(primary_key=True, max_length=36)
    endpoint_id: str = Field(max_length=36)
    event_id: str = Field(max_length=36)
    ticket_id: str | None = Field(default=None, max_length=36)
    position: int
    #: pending, delivered or failed.
    status: str = Field(default="pending", max_length=20)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow)
    claimed_until: datetime | None = None
    #: After this instant a failing delivery is given up (24 h after it was queued).
    give_up_at: datetime = Field(default_factory=utcnow)
    last_status: int | None = None
    last_error: str | None = Field(default=None, sa_type=Text)
    delivered_at: datetime | None = None
    replay_of: str | None = Field(default=None, max_length=36)
    created_at: datetime = Field(default_factory=utcnow)
