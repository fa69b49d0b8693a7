"""The reads a channel needs before it decides what to write: groups, customers, tickets, refs.

Plain SQLAlchemy Core on a connection the caller opened, so the same code reads a workspace's
SQLite file in tests and the team server's database (SQLite or PostgreSQL) in production. The
channels' own tables (``channel_*``) are also written here: they are the server's bookkeeping,
not shared data, and never go through a mutation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, delete, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from supportdesk.store.enums import IdentityKind
from supportdesk.store.models import Customer, Group, Identity, Message, Ticket
from supportdesk.store.models_channels import ChannelConversation, ChannelMessageRef

MAX_MERGE_HOPS = 10


def _t(model: Any) -> Table:
    return model.__table__  # type: ignore[no-any-return]


# --- groups -------------------------------------------------------------------------------------


def group_for_address(connection: Connection, address: str) -> dict[str, Any] | None:
    """The group whose own address is ``address`` (already normalised), if any."""
    groups = _t(Group)
    row = connection.execute(select(groups).where(groups.c.email == address)).mappings().first()
    return dict(row) if row else None


def route(connection: Connection, recipients: list[str]) -> dict[str, Any] | None:
    """The group of the first recipient that is a group's address: the recipient routes a mail."""
    for address in recipients:
        group = group_for_address(connection, address)
        if group is not None:
            return group
    return None


# --- customers and tickets ----------------------------------------------------------------------


def live_customer_id(connection: Connection, customer_id: str) -> str | None:
    """Follow merges to the customer record that survives."""
    customers = _t(Customer)
    current: str | None = customer_id
    for _ in range(MAX_MERGE_HOPS):
        row = connection.execute(select(customers.c.merged_into_id).where(customers.c.id == current)).first()
        if row is None:
            return None
        if row[0] is None:
            return current
        current = row[0]
    return current


def customer_for_identity(connection: Connection, kind: IdentityKind, value: str) -> str | None:
    """The customer who owns an (already normalised) address, after merges."""
    identities = _t(Identity)
    row = connection.execute(
        select(identities.c.customer_id).where(identities.c.kind == kind.value, identities.c.value == value)
    ).first()
    return live_customer_id(connection, row[0]) if row else None


def ticket(connection: Connection, ticket_id: str) -> dict[str, Any] | None:
    """A ticket, following ticket merges to the one that lives on."""
    tickets = _t(Ticket)
    for _ in range(MAX_MERGE_HOPS):
        row = connection.execute(select(tickets).where(tickets.c.id == ticket_id)).mappings().first()
        if row is None:
            return None
        if not row["merged_into_id"]:
            return dict(row)
        ticket_id = row["merged_into_id"]
    return None


def customer_erased(connection: Connection, customer_id: str | None) -> bool:
    """Whether the customer was erased (their tickets take no new text: ``privacy.keep_erased``)."""
    if customer_id is None:
        return False
    customers = _t(Customer)
    row = connection.execute(select(customers.c.erased_at).where(customers.c.id == customer_id)).first()
    return row is not None and row[0] is not None


def ticket_by_number(connection: Connection, number: int) -> dict[str, Any] | None:
    tickets = _t(Ticket)
    row = connection.execute(select(tickets.c.id).where(tickets.c.number == number)).first()
    return ticket(connection, row[0]) if row else None


def message_exists(connection: Connection, message_id: str) -> bool:
    messages = _t(Message)
    return connection.execute(select(messages.c.id).where(messages.c.id == message_id)).first() is not None


# --- outside message ids ------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    """The right to turn one outside message into ``message_id`` (or proof it was done)."""

    message_id: str
    duplicate: bool
    ticket_id: str | None = None


def claim_message(
    connection: Connection,
    channel: str,
    scope: str,
    external_id: str,
    message_id: str,
    now: datetime,
) -> Claim:
    """Record that ``external_id`` becomes ``message_id``; a second delivery finds the first.

    A claim whose message never got written (the process died, or the mutation was refused)
    is taken over with its original message id, so a retry is still idempotent.
    """
    refs = _t(ChannelMessageRef)
    key = (refs.c.channel == channel, refs.c.scope == scope, refs.c.external_id == external_id)
    row = connection.execute(select(refs.c.message_id, refs.c.ticket_id).where(*key)).first()
    if row is not None:
        return Claim(row[0], duplicate=message_exists(connection, row[0]), ticket_id=row[1])
    try:
        with connection.begin_nested():
            connection.execute(
                insert(refs).values(
                    channel=channel, scope=scope, external_id=external_id, message_id=message_id, created_at=now
                )
            )
    except IntegrityError:
        row = connection.execute(select(refs.c.message_id, refs.c.ticket_id).where(*key)).first()
        return Claim(row[0] if row else message_id, duplicate=True, ticket_id=row[1] if row else None)
    return Claim(message_id, duplicate=False)


def settle_message(connection: Connection, channel: str, scope: str, external_id: str, ticket_id: str) -> None:
    refs = _t(ChannelMessageRef)
    connection.execute(
        update(refs)
        .where(refs.c.channel == channel, refs.c.scope == scope, refs.c.external_id == external_id)
        .values(ticket_id=ticket_id)
    )


def release_message(connection: Connection, channel: str, scope: str, external_id: str) -> None:
    """Drop a claim whose message was refused, so a corrected delivery can try again."""
    refs = _t(ChannelMessageRef)
    connection.execute(
        delete(refs).where(refs.c.channel == channel, refs.c.scope == scope, refs.c.external_id == external_id)
    )


def tickets_for_refs(connection: Connection, channel: str, external_ids: list[str]) -> list[tuple[str, str]]:
    """(external id, ticket id) for outside ids we have seen, in the order asked."""
    if not external_ids:
        return []
    refs = _t(ChannelMessageRef)
    rows = connection.execute(
        select(refs.c.external_id, refs.c.ticket_id).where(
            refs.c.channel == channel, refs.c.external_id.in_(external_ids), refs.c.ticket_id.is_not(None)
        )
    ).all()
    by_ref: dict[str, list[str]] = {}
    for external_id, ticket_id in rows:
        by_ref.setdefault(external_id, []).append(ticket_id)
    return [(ref, ticket_id) for ref in external_ids for ticket_id in by_ref.get(ref, [])]


# --- outside conversations ----------------------------------------------------------------------


def conversation_ticket(connection: Connection, channel: str, external_id: str) -> str | None:
    conversations = _t(ChannelConversation)
    row = connection.execute(
        select(conversations.c.ticket_id).where(
            conversations.c.channel == channel, conversations.c.external_id == external_id
        )
    ).first()
    return row[0] if row else None


def claim_conversation(connection: Connection, channel: str, external_id: str, ticket_id: str, now: datetime) -> str:
    """The conversation's ticket id: ``ticket_id`` if this call made the claim, else the winner's."""
    conversations = _t(ChannelConversation)
    try:
        with connection.begin_nested():
            connection.execute(
                insert(conversations).values(
                    channel=channel, external_id=external_id, ticket_id=ticket_id, created_at=now, updated_at=now
                )
            )
        return ticket_id
    except IntegrityError:
        return conversation_ticket(connection, channel, external_id) or ticket_id


def move_conversation(connection: Connection, channel: str, external_id: str, ticket_id: str, now: datetime) -> None:
    """Point a conversation at another ticket (the follow-up of a closed one)."""
    conversations = _t(ChannelConversation)
    connection.execute(
        update(conversations)
        .where(conversations.c.channel == channel, conversations.c.external_id == external_id)
        .values(ticket_id=ticket_id, updated_at=now)
    )


def release_conversation(connection: Connection, channel: str, external_id: str, ticket_id: str) -> None:
    conversations = _t(ChannelConversation)
    connection.execute(
        delete(conversations).where(
            conversations.c.channel == channel,
            conversations.c.external_id == external_id,
            conversations.c.ticket_id == ticket_id,
        )
    )


def conversations_of_ticket(connection: Connection, ticket_id: str) -> list[tuple[str, str]]:
    """(channel, outside conversation id) of every conversation that points at a ticket, newest first."""
    conversations = _t(ChannelConversation)
    rows = connection.execute(
        select(conversations.c.channel, conversations.c.external_id)
        .where(conversations.c.ticket_id == ticket_id)
        .order_by(conversations.c.updated_at.desc(), conversations.c.external_id)
    ).all()
    return [(row[0], row[1]) for row in rows]


def conversation_of_ticket(connection: Connection, channel: str, ticket_id: str) -> str | None:
    conversations = _t(ChannelConversation)
    row = connection.execute(
        select(conversations.c.external_id).where(
            conversations.c.channel == channel, conversations.c.ticket_id == ticket_id
        )
    ).first()
    return row[0] if row else None
