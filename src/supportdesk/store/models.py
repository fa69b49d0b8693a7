"""The tables of a supportdesk store, as SQLModel classes.

The same tables serve an agent's local workspace (SQLite) and the team server (SQLite or
PostgreSQL). Rows are written only through ``supportdesk.domain`` (the one write path) or by the
sync layer applying what the server sent; the fast read path reads them with plain SQL.

Every time column is a timezone-aware ``datetime`` (stored as UTC). Ids are UUIDv7 text made by
whoever creates the row; the human ticket number comes from the authority (server, or the
workspace itself when it is not attached to one).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Computed, Index, Integer, String, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from supportdesk.store.enums import (
    UNSOLVED,
    AuthorKind,
    Channel,
    Direction,
    IdentityKind,
    Priority,
    Role,
    Status,
    TicketType,
    status_in,
)
from supportdesk.store.times import utcnow

PRIORITY_RANK_SQL = (
    "CASE priority WHEN 'low' THEN 1 WHEN 'normal' THEN 2 WHEN 'high' THEN 3 WHEN 'urgent' THEN 4 ELSE 0 END"
)


def _json_column() -> Any:
    return Column(JSON, nullable=False)


# --- people -------------------------------------------------------------------------------


class Group(SQLModel, table=True):
    """A team of agents that owns tickets; visibility on the server follows groups."""

    __tablename__ = "groups"

    id: str = Field(primary_key=True, max_length=36)
    name: str = Field(unique=True, max_length=120)
    email: str | None = Field(default=None, unique=True, max_length=320)
    description: str = ""
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Agent(SQLModel, table=True):
    __tablename__ = "agent"

    id: str = Field(primary_key=True, max_length=36)
    name: str = Field(max_length=200)
    email: str = Field(unique=True, max_length=320)
    role: Role = Field(default=Role.AGENT, sa_type=String(20))
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class AgentGroup(SQLModel, table=True):
    __tablename__ = "agent_group"

    agent_id: str = Field(foreign_key="agent.id", primary_key=True, max_length=36)
    group_id: str = Field(foreign_key="groups.id", primary_key=True, max_length=36)


class Organization(SQLModel, table=True):
    __tablename__ = "organization"

    id: str = Field(primary_key=True, max_length=36)
    name: str = Field(unique=True, max_length=200)
    domain: str | None = Field(default=None, index=True, max_length=253)
    notes: str = ""
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Customer(SQLModel, table=True):
    """One person, whatever channels they reach us on (their addresses are ``Identity`` rows)."""

    __tablename__ = "customer"

    id: str = Field(primary_key=True, max_length=36)
    name: str = Field(default="", max_length=300)
    organization_id: str | None = Field(default=None, foreign_key="organization.id", index=True)
    notes: str = ""
    locale: str = Field(default="en", max_length=20)
    merged_into_id: str | None = Field(default=None, foreign_key="customer.id")
    erased_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Identity(SQLModel, table=True):
    """A customer's address on one channel: an email, a phone number, a chat or social handle.

    ``value`` is normalised (lower-cased email, E.164-ish phone, ``network:@handle``) so that one
    address always resolves to one customer.
    """

    __tablename__ = "identity"
    __table_args__ = (UniqueConstraint("kind", "value", name="uq_identity_kind_value"),)

    id: str = Field(primary_key=True, max_length=36)
    customer_id: str = Field(foreign_key="customer.id", index=True, max_length=36)
    kind: IdentityKind = Field(sa_type=String(20))
    value: str = Field(max_length=320)
    is_primary: bool = False
    created_at: datetime = Field(default_factory=utcnow)


# --- tickets ------------------------------------------------------------------------------


class Ticket(SQLModel, table=True):
    __tablename__ = "ticket"
    __table_args__ = (
        Index("ix_ticket_updated", "updated_at", "id"),
        Index("ix_ticket_created", "created_at", "id"),
        Index("ix_ticket_status_updated", "status", "updated_at", "id"),
        Index("ix_ticket_assignee_updated", "assignee_id", "updated_at", "id"),
        Index("ix_ticket_group_updated", "group_id", "updated_at", "id"),
        Index("ix_ticket_requester_updated", "requester_id", "updated_at", "id"),
        Index("ix_ticket_priority_updated", "priority_rank", "updated_at", "id"),
        Index("ix_ticket_solved", "solved_at"),
        Index("ix_ticket_sentiment", "sentiment"),
        Index("ix_ticket_assignee_status", "assignee_id", "status"),
        Index("ix_ticket_group_status", "group_id", "status"),
        Index("ix_ticket_status_priority", "status", "priority_rank"),
        Index("ix_ticket_status_solved", "status", "solved_at"),
        # the few unsolved tickets in queue order (see migration 0007_console)
        Index(
            "ix_ticket_unsolved_updated",
            "updated_at",
            "id",
            sqlite_where=text(status_in(UNSOLVED, column="status")),
            postgresql_where=text(status_in(UNSOLVED, column="status")),
        ),
        # one agent's unsolved tickets in queue order: "My open" (see migration 0008)
        Index(
            "ix_ticket_unsolved_assignee",
            "assignee_id",
            "updated_at",
            "id",
            sqlite_where=text(status_in(UNSOLVED, column="status")),
            postgresql_where=text(status_in(UNSOLVED, column="status")),
        ),
    )

    id: str = Field(primary_key=True, max_length=36)
    number: int | None = Field(default=None, unique=True)
    subject: str = Field(default="", max_length=1000)
    status: Status = Field(default=Status.NEW, sa_type=String(20))
    priority: Priority = Field(default=Priority.NORMAL, sa_type=String(20))
    priority_rank: int | None = Field(
        default=None,
        sa_column=Column(Integer, Computed(PRIORITY_RANK_SQL, persisted=True)),
    )
    type: TicketType = Field(default=TicketType.QUESTION, sa_type=String(20))
    channel: Channel = Field(default=Channel.WEB, sa_type=String(20))
    group_id: str | None = Field(default=None, foreign_key="groups.id", max_length=36)
    assignee_id: str | None = Field(default=None, foreign_key="agent.id", max_length=36)
    requester_id: str = Field(foreign_key="customer.id", max_length=36)
    problem_id: str | None = Field(default=None, foreign_key="ticket.id", index=True)
    merged_into_id: str | None = Field(default=None, foreign_key="ticket.id")
    follow_up_of_id: str | None = Field(default=None, foreign_key="ticket.id")
    fields: dict[str, Any] = Field(default_factory=dict, sa_column=_json_column())
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    first_response_at: datetime | None = None
    solved_at: datetime | None = None
    language: str | None = Field(default=None, max_length=35)
    # triage (``ticket.triage``; see store.ticket_fields): a confidence is empty when a person set the value
    language_confidence: float | None = None
    sentiment: str | None = Field(default=None, max_length=20)
    sentiment_score: float | None = None
    sentiment_confidence: float | None = None
    intent: str | None = Field(default=None, max_length=40)
    intent_confidence: float | None = None
    #: Out of the agent's worklists until then (``ticket.snooze``; see migration 0017_console_snooze).
    snoozed_until: datetime | None = Field(default=None, index=True)
    snoozed_by_id: str | None = Field(default=None, max_length=36)


class TicketTag(SQLModel, table=True):
    """Tags are rows, so that adding and removing one never rewrites the whole list."""

    __tablename__ = "ticket_tag"
    __table_args__ = (Index("ix_ticket_tag_tag", "tag", "ticket_id"),)

    ticket_id: str = Field(foreign_key="ticket.id", primary_key=True, max_length=36)
    tag: str = Field(primary_key=True, max_length=80)


class Message(SQLModel, table=True):
    """One entry of a ticket's timeline: a public reply, an internal note, a call, a chat line.

    Messages are append-only; ``meta`` holds what the channel knows (email headers and how the
    mail was threaded, a call's number and duration, a social network and handle).
    """

    __tablename__ = "message"
    __table_args__ = (Index("ix_message_ticket_created", "ticket_id", "created_at"),)

    id: str = Field(primary_key=True, max_length=36)
    ticket_id: str = Field(foreign_key="ticket.id", max_length=36)
    channel: Channel = Field(sa_type=String(20))
    direction: Direction = Field(sa_type=String(20))
    public: bool = True
    author_kind: AuthorKind = Field(sa_type=String(20))
    author_agent_id: str | None = Field(default=None, foreign_key="agent.id", max_length=36)
    author_customer_id: str | None = Field(default=None, foreign_key="customer.id", index=True, max_length=36)
    body: str = ""
    meta: dict[str, Any] = Field(default_factory=dict, sa_column=_json_column())
    created_at: datetime = Field(default_factory=utcnow)


class Attachment(SQLModel, table=True):
    """Metadata of a stored file; the bytes live in the workspace's attachment folder by hash."""

    __tablename__ = "attachment"

    id: str = Field(primary_key=True, max_length=36)
    message_id: str = Field(foreign_key="message.id", index=True, max_length=36)
    sha256: str = Field(index=True, max_length=64)
    filename: str = Field(max_length=255)
    size: int
    content_type: str = Field(default="application/octet-stream", max_length=255)
    #: What the first bytes show (``store.file_types.sniff``); None when nothing was recognisable.
    sniffed_type: str | None = Field(default=None, max_length=255)
    created_at: datetime = Field(default_factory=utcnow)


# --- agent tools --------------------------------------------------------------------------


class Macro(SQLModel, table=True):
    """A canned response: field changes (``actions``) plus a Jinja2 template for the comment."""

    __tablename__ = "macro"

    id: str = Field(primary_key=True, max_length=36)
    name: str = Field(unique=True, max_length=200)
    description: str = ""
    actions: list[dict[str, Any]] = Field(default_factory=list, sa_column=_json_column())
    body: str = ""
    public: bool = True
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class KBArticle(SQLModel, table=True):
    __tablename__ = "kb_article"

    id: str = Field(primary_key=True, max_length=36)
    slug: str = Field(unique=True, max_length=200)
    title: str = Field(max_length=300)
    body: str = ""
    tags: str = ""
    locale: str = Field(default="en", max_length=20)
    #: Shown in the help center (``/help``) to anybody; set by ``article.publish``.
    public: bool = Field(default=False, index=True)
    #: The help center's section it is listed under ("" for none).
    section: str = Field(default="", max_length=120)
    #: Customers' answers to "Was this helpful?" (``article.vote``, written by the server).
    helpful_votes: int = 0
    unhelpful_votes: int = 0
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class SavedView(SQLModel, table=True):
    """A named query of the queue; ``owner_id`` NULL means shared with the whole team."""

    __tablename__ = "saved_view"

    id: str = Field(primary_key=True, max_length=36)
    name: str = Field(max_length=120)
    query: str = ""
    sort: str = Field(default="updated-desc", max_length=40)
    owner_id: str | None = Field(default=None, foreign_key="agent.id", max_length=36)
    position: int = 0
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


# --- history ------------------------------------------------------------------------------


class AuditEvent(SQLModel, table=True):
    """One field changed by one mutation: who, which mutation, before and after, when."""

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_entity", "entity", "entity_id", "id"),
        Index("ix_audit_at", "at"),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow)
    actor_id: str | None = Field(default=None, max_length=36)
    mutation: str = Field(max_length=60)
    mutation_ref: str = Field(default="", max_length=200)
    entity: str = Field(max_length=40)
    entity_id: str = Field(max_length=36)
    field: str = Field(max_length=60)
    before: Any = Field(default=None, sa_column=Column(JSON, nullable=True))
    after: Any = Field(default=None, sa_column=Column(JSON, nullable=True))
    #: Which client made the change (``console``, ``cli``, ``cli-bulk`` …; empty: not recorded, as
    #: on the server; rules and channels are told by ``mutation_ref`` and the actor).
    source: str | None = Field(default=None, max_length=20)


# --- the client's side of sync ------------------------------------------------------------


class OutboxEntry(SQLModel, table=True):
    """A mutation applied locally and not yet acknowledged by the server.

    ``id`` is the client's consecutive mutation id; AUTOINCREMENT keeps ids from ever being
    reused after acknowledged entries are dropped.
    """

    __tablename__ = "outbox"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=60)
    args: dict[str, Any] = Field(default_factory=dict, sa_column=_json_column())
    actor_id: str | None = Field(default=None, max_length=36)
    created_at: datetime = Field(default_factory=utcnow)
    error: str | None = None


class SyncState(SQLModel, table=True):
    """One row: which server this workspace follows and how far it has got."""

    __tablename__ = "sync_state"

    id: int = Field(default=1, primary_key=True)
    client_id: str = Field(max_length=36)
    server_url: str | None = None
    profile: str | None = None
    cursor: int = 0
    last_acked_mutation_id: int = 0
    bootstrap: dict[str, Any] = Field(default_factory=dict, sa_column=_json_column())
    last_pull_at: datetime | None = None
    last_push_at: datetime | None = None
    last_error: str | None = None


class WorkspaceSetting(SQLModel, table=True):
    """Per-workspace settings that belong with the data (who "me" is, how numbers are given)."""

    __tablename__ = "workspace_setting"

    key: str = Field(primary_key=True, max_length=80)
    value: Any = Field(default=None, sa_column=Column(JSON, nullable=True))


class Draft(SQLModel, table=True):
    """The composer's unsent text, saved as the agent types so it survives a crash."""

    __tablename__ = "draft"

    ticket_id: str = Field(primary_key=True, max_length=36)
    kind: str = Field(primary_key=True, max_length=10)
    body: str = ""
    state: dict[str, Any] = Field(default_factory=dict, sa_column=_json_column())
    updated_at: datetime = Field(default_factory=utcnow)


class TicketSeen(SQLModel, table=True):
    """When this agent last looked at a ticket: drives the "updated since seen" marker."""

    __tablename__ = "ticket_seen"

    ticket_id: str = Field(primary_key=True, max_length=36)
    seen_at: datetime = Field(default_factory=utcnow)


# --- the server's side of sync ------------------------------------------------------------


class Counter(SQLModel, table=True):
    """Named counters (``seq`` for the change log, ``ticket_number``).

    The change-log counter row is locked as the last step of a write transaction, so commit
    order equals seq order even on PostgreSQL.
    """

    __tablename__ = "counter"

    name: str = Field(primary_key=True, max_length=40)
    value: int = 0


class ChangeLog(SQLModel, table=True):
    __tablename__ = "change_log"
    __table_args__ = (Index("ix_change_log_entity", "entity", "entity_id"),)

    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    entity: str = Field(max_length=40)
    entity_id: str = Field(max_length=80)
    op: str = Field(max_length=10)
    data: Any = Field(default=None, sa_column=Column(JSON, nullable=True))
    group_id: str | None = Field(default=None, max_length=36)
    at: datetime = Field(default_factory=utcnow)


class SyncClient(SQLModel, table=True):
    __tablename__ = "sync_client"

    client_id: str = Field(primary_key=True, max_length=36)
    agent_id: str = Field(foreign_key="agent.id", max_length=36)
    last_mutation_id: int = 0
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class MutationResult(SQLModel, table=True):
    """What the server answered for one client mutation, returned again on a replay."""

    __tablename__ = "mutation_result"

    client_id: str = Field(primary_key=True, max_length=36)
    mutation_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    result: Any = Field(default=None, sa_column=Column(JSON, nullable=True))
    at: datetime = Field(default_factory=utcnow)


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_token"

    id: str = Field(primary_key=True, max_length=36)
    agent_id: str = Field(foreign_key="agent.id", index=True, max_length=36)
    name: str = Field(default="", max_length=120)
    token_hash: str = Field(unique=True, max_length=128)
    created_at: datetime = Field(default_factory=utcnow)
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None
    #: After this instant the token is refused (None: it works until revoked).
    expires_at: datetime | None = None
    #: What the token may do (``tickets:read`` …, see ``server/scopes.py``); None: all its agent may.
    scopes: Any = Field(default=None, sa_column=Column(JSON, nullable=True))
    #: Only tickets of these groups (and tickets with no group); None: all its agent sees.
    group_ids: Any = Field(default=None, sa_column=Column(JSON, nullable=True))
    #: Requests a minute for this token (None: the server's ``--rate-limit``).
    rate_per_minute: int | None = None


#: Tables whose rows are shared data (synced from the server); the rest are local or server-only.
SHARED_TABLES: tuple[str, ...] = (
    "groups",
    "agent",
    "agent_group",
    "organization",
    "customer",
    "identity",
    "ticket",
    "ticket_tag",
    "message",
    "attachment",
    "macro",
    "kb_article",
    "saved_view",
)

__all__ = [
    "SHARED_TABLES",
    "Agent",
    "AgentGroup",
    "ApiToken",
    "Attachment",
    "AuditEvent",
    "AuthorKind",
    "ChangeLog",
    "Counter",
    "Customer",
    "Draft",
    "Group",
    "Identity",
    "KBArticle",
    "Macro",
    "Message",
    "MutationResult",
    "Organization",
    "OutboxEntry",
    "SavedView",
    "SyncClient",
    "SyncState",
    "Ticket",
    "TicketSeen",
    "TicketTag",
    "WorkspaceSetting",
]

from supportdesk.store import models_api, models_blobs, models_channels  # noqa: E402, F401  (the server's own tables)
from supportdesk.store.models_sync import OutboxTouched  # noqa: E402  (issue #4: sync client bookkeeping)

__all__ += ["OutboxTouched"]

from supportdesk.store import models_help  # noqa: E402, F401  (the help center's server-only tables)
from supportdesk.store.models_sla import SLA_SHARED_TABLES  # noqa: E402  (SLAs, rules, surveys)

SHARED_TABLES = (*SHARED_TABLES, *SLA_SHARED_TABLES, "help_day")  # help_day: the help center's daily figures
