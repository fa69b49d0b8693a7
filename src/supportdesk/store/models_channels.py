"""Tables the channels keep for themselves on the server (never synced to agents).

They index what arrives and leaves through email, chat, web forms and social networks: which
outside message became which of our messages (so a redelivered mail is not a second ticket and
a reply threads back), which outside conversation is which ticket, what still has to be sent
(one outbox for every channel, so "never twice" is one mechanism) and how many auto-replies an
address has had lately.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from supportdesk.store.times import utcnow


class ChannelMessageRef(SQLModel, table=True):
    """One outside message id (an email Message-ID, a chat line id) and the message it became.

    ``scope`` keeps ids of different senders apart: the sender's address for email, the
    conversation for chat and social. The row is written before the message (a claim), so a
    redelivery during or after ingest is recognised; ``ticket_id`` is set once it is known.
    """

    __tablename__ = "channel_message_ref"
    __table_args__ = (
        Index("ix_channel_message_ref_external", "channel", "external_id"),
        Index("ix_channel_message_ref_ticket", "ticket_id"),
        Index("ix_channel_message_ref_message", "message_id"),
    )

    channel: str = Field(primary_key=True, max_length=20)
    scope: str = Field(primary_key=True, max_length=320)
    external_id: str = Field(primary_key=True, max_length=500)
    message_id: str = Field(max_length=36)
    ticket_id: str | None = Field(default=None, max_length=36)
    created_at: datetime = Field(default_factory=utcnow)


class ChannelConversation(SQLModel, table=True):
    """An outside conversation (chat session, social thread, web-form submission) and its ticket.

    Written before the ticket is created (with the ticket's id made up front), so two deliveries
    of a conversation's first lines race for this row, not for two tickets.
    """

    __tablename__ = "channel_conversation"
    __table_args__ = (Index("ix_channel_conversation_ticket", "ticket_id"),)

    channel: str = Field(primary_key=True, max_length=20)
    external_id: str = Field(primary_key=True, max_length=500)
    ticket_id: str = Field(max_length=36)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class ChannelOutbox(SQLModel, table=True):
    """Something to deliver on a channel: a rendered mail, or a JSON body for a webhook.

    ``key`` names what is delivered (``email:<message id>``, ``email:auto-reply:<message id>``,
    ``chat:<message id>``): queueing the same thing twice is a no-op, and a worker claims a row
    with a compare-and-set on ``status``, so two workers never send it both.
    """

    __tablename__ = "channel_outbox"
    __table_args__ = (
        Index("ix_channel_outbox_due", "status", "next_attempt_at"),
        Index("ix_channel_outbox_ticket", "ticket_id"),
        UniqueConstraint("header_id", name="uq_channel_outbox_header_id"),
    )

    key: str = Field(primary_key=True, max_length=120)
    channel: str = Field(max_length=20)
    kind: str = Field(default="reply", max_length=20)
    ticket_id: str | None = Field(default=None, max_length=36)
    message_id: str | None = Field(default=None, max_length=36)
    recipient: str = Field(max_length=2000)
    header_id: str | None = Field(default=None, max_length=500)
    payload: str = Field(sa_type=Text)
    status: str = Field(default="queued", max_length=20)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow)
    claimed_until: datetime | None = None
    last_error: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = None


class ChannelAutoReply(SQLModel, table=True):
    """Auto-replies sent to one address in the current window (the rate cap against loops)."""

    __tablename__ = "channel_autoreply"

    address: str = Field(primary_key=True, max_length=320)
    window_start: datetime = Field(default_factory=utcnow)
    count: int = 0


class ChannelImapMailbox(SQLModel, table=True):
    """How far the server has read one remote IMAP folder (``[[channels.imap]]``).

    IMAP names a message by its UID, valid only while the folder's UIDVALIDITY stays the same:
    ``last_uid`` is the highest UID handled (ingested, or kept aside) under ``uidvalidity``, moved
    after each message, so a restart goes on after it. The counters and the last error are what
    an admin reads to see that the mailbox works (or why it does not).
    """

    __tablename__ = "channel_imap_mailbox"

    mailbox: str = Field(primary_key=True, max_length=600)
    address: str = Field(max_length=320)
    uidvalidity: int | None = Field(default=None, sa_type=BigInteger)
    last_uid: int = Field(default=0, sa_type=BigInteger)
    baseline_uid: int = Field(default=0, sa_type=BigInteger)
    ingested: int = 0
    kept_aside: int = 0
    last_kept_aside: str | None = Field(default=None, sa_type=Text)
    last_error: str | None = Field(default=None, sa_type=Text)
    last_error_at: datetime | None = None
    connected_at: datetime | None = None
    checked_at: datetime | None = None


__all__ = ["ChannelAutoReply", "ChannelConversation", "ChannelImapMailbox", "ChannelMessageRef", "ChannelOutbox"]
