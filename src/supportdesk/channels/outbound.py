"""Queue what has to leave: agents' public replies, auto-replies and survey links.

:func:`queue_replies` is called by the server inside the same transaction that wrote the
messages, so a reply is queued exactly when it exists. Each outbox row is keyed by what it
delivers (``email:<message id>``): queueing twice is a no-op. Mail is rendered here, once, and
stored as bytes, so every retry sends the very same mail with the very same Message-ID.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from supportdesk.channels import lookups
from supportdesk.channels.compose import MailFile, OutgoingMail, render, reply_subject
from supportdesk.channels.settings import ChannelSettings
from supportdesk.channels.webhooks.base import RECEIVED_FROM_CHANNEL, Reply, WebhookChannel
from supportdesk.store.enums import AuthorKind, Channel, Direction, IdentityKind
from supportdesk.store.models import Agent, Customer, Group, Identity, Message, Ticket
from supportdesk.store.models_channels import ChannelOutbox

log = logging.getLogger(__name__)


def _row(connection: Connection, model: Any, key: str) -> dict[str, Any] | None:
    table = model.__table__
    found = connection.execute(select(table).where(table.c.id == key)).mappings().first()
    return dict(found) if found else None


def _enqueue(connection: Connection, values: dict[str, Any]) -> bool:
    outbox = ChannelOutbox.__table__  # type: ignore[attr-defined]
    if connection.execute(select(outbox.c.key).where(outbox.c.key == values["key"])).first() is not None:
        return False
    try:
        with connection.begin_nested():
            connection.execute(insert(outbox).values(attempts=0, **values))
    except IntegrityError:
        return False
    return True


def queue_replies(
    connection: Connection, message_ids: list[str], settings: ChannelSettings, *, now: datetime
) -> list[str]:
    """Queue delivery of every public agent reply among ``message_ids``; returns the new keys."""
    queued: list[str] = []
    for message_id in message_ids:
        message = _row(connection, Message, message_id)
        if message is None or not _is_outgoing(message):
            continue
        if message["channel"] == Channel.EMAIL.value:
            key = _queue_email_reply(connection, message, settings, now)
        else:
            key = _queue_webhook_reply(connection, message, settings, now)
        if key:
            queued.append(key)
    return queued


def _is_outgoing(message: dict[str, Any]) -> bool:
    """An agent's public reply, or a routing rule's auto-reply (a public system message)."""
    meta = message["meta"] or {}
    if message["direction"] != Direction.OUTBOUND.value or not message["public"] or meta.get(RECEIVED_FROM_CHANNEL):
        return False
    if message["author_kind"] == AuthorKind.AGENT.value:
        return True
    return message["author_kind"] == AuthorKind.SYSTEM.value and bool(meta.get("auto_reply"))


def _is_rule_auto_reply(message: dict[str, Any]) -> bool:
    return message["author_kind"] == AuthorKind.SYSTEM.value and bool((message["meta"] or {}).get("auto_reply"))


# --- email --------------------------------------------------------------------------------------


def _latest_inbound_mail(connection: Connection, ticket: dict[str, Any]) -> dict[str, Any] | None:
    """The meta of the newest mail the customer sent on this ticket (or the one it follows up)."""
    messages = Message.__table__  # type: ignore[attr-defined]
    for ticket_id in (ticket["id"], ticket.get("follow_up_of_id")):
        if not ticket_id:
            continue
        row = connection.execute(
            select(messages.c.meta, messages.c.author_customer_id)
            .where(
                messages.c.ticket_id == ticket_id,
                messages.c.channel == Channel.EMAIL.value,
                messages.c.direction == Direction.INBOUND.value,
            )
            .order_by(messages.c.created_at.desc(), messages.c.id.desc())
            .limit(1)
        ).first()
        if row is not None and isinstance(row[0], dict) and isinstance(row[0].get("email"), dict):
            return {**row[0]["email"], "author_customer_id": row[1]}
    return None


MAX_FOLLOW_UPS = 10
MAX_MAILS_LOOKED_AT = 200


def _requester_addresses(connection: Connection, ticket: dict[str, Any]) -> list[str]:
    """The requester's email addresses, primary first."""
    identities = Identity.__table__  # type: ignore[attr-defined]
    return [
        row[0]
        for row in connection.execute(
            select(identities.c.value)
            .where(identities.c.customer_id == ticket["requester_id"], identities.c.kind == IdentityKind.EMAIL.value)
            .order_by(identities.c.is_primary.desc(), identities.c.created_at)
        )
    ]


def _first_inbound_from(connection: Connection, ticket_id: str, known: set[str]) -> tuple[datetime, str] | None:
    """When and from which of ``known`` the first mail on a ticket came."""
    messages = Message.__table__  # type: ignore[attr-defined]
    rows = connection.execute(
        select(messages.c.created_at, messages.c.meta)
        .where(
            messages.c.ticket_id == ticket_id,
            messages.c.channel == Channel.EMAIL.value,
            messages.c.direction == Direction.INBOUND.value,
        )
        .order_by(messages.c.created_at, messages.c.id)
        .limit(MAX_MAILS_LOOKED_AT)
    )
    for created_at, meta in rows:
        email = meta.get("email") if isinstance(meta, dict) else None
        if isinstance(email, dict) and email.get("from") in known:
            return created_at, str(email["from"])
    return None


def _first_mailed_to(connection: Connection, ticket_id: str, known: set[str]) -> tuple[datetime, str] | None:
    """When and to which of ``known`` we first queued mail on a ticket."""
    outbox = ChannelOutbox.__table__  # type: ignore[attr-defined]
    rows = connection.execute(
        select(outbox.c.created_at, outbox.c.recipient)
        .where(outbox.c.ticket_id == ticket_id, outbox.c.channel == "email", outbox.c.recipient != "")
        .order_by(outbox.c.created_at, outbox.c.key)
        .limit(MAX_MAILS_LOOKED_AT)
    )
    for created_at, recipient in rows:
        if recipient in known:
            return created_at, str(recipient)
    return None


def conversation_address(connection: Connection, ticket: dict[str, Any]) -> str | None:
    """The address this ticket's email conversation uses: the only one its replies go to.

    It is the requester's address the conversation started with — the first mail the requester
    sent on the ticket, or the first mail we sent on it, whichever came first (looking back
    through the tickets it follows up) — and, for a ticket with no mail yet, the requester's
    primary address, which the first reply then pins. What the customer record says *now* does
    not move it: a ``customer.merge`` that makes someone else's address primary, or a mail from
    another of the customer's addresses joining the ticket, leaves the replies where they were
    going. None when the requester has no email address at all.
    """
    addresses = _requester_addresses(connection, ticket)
    if not addresses:
        return None
    known = set(addresses)
    current: dict[str, Any] | None = ticket
    for _ in range(MAX_FOLLOW_UPS):
        if current is None:
            break
        found = [
            hit
            for hit in (
                _first_inbound_from(connection, current["id"], known),
                _first_mailed_to(connection, current["id"], known),
            )
            if hit is not None
        ]
        if found:
            return min(found)[1]
        current = _row(connection, Ticket, current["follow_up_of_id"]) if current.get("follow_up_of_id") else None
    return addresses[0]


def _thread_of(connection: Connection, ticket: dict[str, Any], address: str) -> dict[str, Any] | None:
    """The meta of the newest mail ``address`` sent on this ticket (or the one it follows up):
    our reply continues that thread (In-Reply-To, References)."""
    messages = Message.__table__  # type: ignore[attr-defined]
    for ticket_id in (ticket["id"], ticket.get("follow_up_of_id")):
        if not ticket_id:
            continue
        rows = connection.execute(
            select(messages.c.meta)
            .where(
                messages.c.ticket_id == ticket_id,
                messages.c.channel == Channel.EMAIL.value,
                messages.c.direction == Direction.INBOUND.value,
            )
            .order_by(messages.c.created_at.desc(), messages.c.id.desc())
            .limit(MAX_MAILS_LOOKED_AT)
        )
        for (meta,) in rows:
            email = meta.get("email") if isinstance(meta, dict) else None
            if isinstance(email, dict) and email.get("from") == address:
                return dict(email)
    return None


def _sender(ticket: dict[str, Any], group: dict[str, Any] | None, settings: ChannelSettings) -> tuple[str, str]:
    if group is not None and group.get("email"):
        return str(group["email"]), str(group["name"])
    return settings.default_from or f"support@{settings.mail_domain}", group["name"] if group else "Support"


def _queue_email(
    connection: Connection,
    *,
    key: str,
    kind: str,
    ticket: dict[str, Any],
    message_id: str | None,
    token: str,
    body: str,
    settings: ChannelSettings,
    now: datetime,
    files: list[MailFile] | None = None,
) -> str | None:
    outbox = ChannelOutbox.__table__  # type: ignore[attr-defined]
    if connection.execute(select(outbox.c.key).where(outbox.c.key == key)).first() is not None:
        return None
    recipient = conversation_address(connection, ticket)
    last = _thread_of(connection, ticket, recipient) if recipient else None
    group = _row(connection, Group, ticket["group_id"]) if ticket["group_id"] else None
    from_address, from_name = _sender(ticket, group, settings)
    common = {"key": key, "channel": "email", "kind": kind, "ticket_id": ticket["id"], "message_id": message_id}
    if recipient is None:
        _enqueue(
            connection,
            {
                **common,
                "recipient": "",
                "payload": "",
                "status": "failed",
                "last_error": "the requester has no email address",
                "next_attempt_at": now,
                "created_at": now,
            },
        )
        return None
    customer = _row(connection, Customer, ticket["requester_id"])
    references = [
        *(last or {}).get("references", []),
        *([last["message_id"]] if last and last.get("message_id") else []),
    ]
    mail = OutgoingMail(
        ticket_id=ticket["id"],
        token=token,
        from_address=from_address,
        from_name=from_name,
        to_address=recipient,
        # the name this address wrote under, not what the customer record is called now
        to_name=(last or {}).get("from_name") or (customer["name"] if customer else ""),
        subject=reply_subject(ticket["subject"], ticket["number"]),
        body=body,
        in_reply_to=last.get("message_id") if last else None,
        references=references,
        auto_reply=kind == "auto_reply",
        files=files or [],
    )
    header_id, raw = render(mail, secret=settings.secret_bytes, domain=settings.mail_domain, now=now)
    values = {
        **common,
        "recipient": recipient,
        "header_id": header_id,
        "payload": raw.decode("ascii"),
        "status": "queued",
        "next_attempt_at": now,
        "created_at": now,
    }
    return key if _enqueue(connection, values) else None


def _queue_email_reply(
    connection: Connection, message: dict[str, Any], settings: ChannelSettings, now: datetime
) -> str | None:
    ticket = _row(connection, Ticket, message["ticket_id"])
    if ticket is None:
        return None
    auto = _is_rule_auto_reply(message)
    if auto and not _may_auto_reply(connection, ticket, settings, now):
        return None
    return _queue_email(
        connection,
        key=f"email:{message['id']}",
        kind="auto_reply" if auto else "reply",
        ticket=ticket,
        message_id=message["id"],
        token=message["id"],
        body=message["body"],
        settings=settings,
        now=now,
        files=_files_of(connection, message["id"], settings),
    )


def _files_of(connection: Connection, message_id: str, settings: ChannelSettings) -> list[MailFile]:
    """A reply's files, read from the blob store (the server checked they are there before the
    reply was written). Sent as the declared type unless the bytes disagree, then as plain bytes."""
    from supportdesk.store.file_types import mismatch
    from supportdesk.store.files import path_for

    rows = connection.execute(
        text("SELECT sha256, filename, content_type, sniffed_type FROM attachment WHERE message_id = :m ORDER BY id"),
        {"m": message_id},
    ).all()
    files: list[MailFile] = []
    for sha256, filename, declared, sniffed in rows:
        kind = "application/octet-stream" if mismatch(declared, sniffed, filename) else declared
        try:
            data = path_for(settings.attachments_dir, sha256).read_bytes()
        except OSError:  # erased meanwhile: the mail goes without it rather than not at all
            log.warning("a reply's file %s… is not in the attachment folder; sent without it", sha256[:12])
            continue
        files.append(MailFile(filename, kind or "application/octet-stream", data))
    return files


def _file_list(connection: Connection, message_id: str) -> list[dict[str, Any]]:
    """A reply's files as a webhook body lists them; the sender adds a fresh signed link to each
    (:mod:`supportdesk.channels.file_urls`). Declared type unless the bytes disagree."""
    from supportdesk.store.file_types import OCTET, mismatch

    rows = connection.execute(
        text(
            "SELECT sha256, filename, size, content_type, sniffed_type FROM attachment "
            "WHERE message_id = :m ORDER BY id"
        ),
        {"m": message_id},
    ).all()
    return [
        {
            "filename": filename,
            "size": size,
            "content_type": OCTET if mismatch(declared, sniffed, filename) else (declared or OCTET),
            "sha256": sha256,
        }
        for sha256, filename, size, declared, sniffed in rows
    ]


def _may_auto_reply(connection: Connection, ticket: dict[str, Any], settings: ChannelSettings, now: datetime) -> bool:
    """The loop guards every auto-reply obeys, a rule's included (RFC 3834): never to automated
    mail, at most ``auto_reply_limit`` per address and ``auto_reply_global_limit`` in all per
    window."""
    from supportdesk.channels.automation import take_auto_reply_slot

    last = _latest_inbound_mail(connection, ticket)
    if last is not None and last.get("automated"):
        return False
    recipient = conversation_address(connection, ticket)
    if recipient is None:
        return True  # queued as failed, with the reason, by _queue_email
    return take_auto_reply_slot(connection, recipient, settings, now=now)


def has_auto_reply(connection: Connection, ticket_id: str) -> bool:
    """Whether an auto-reply (the acknowledgement or a rule's) is already queued for a ticket."""
    outbox = ChannelOutbox.__table__  # type: ignore[attr-defined]
    found = connection.execute(
        select(outbox.c.key).where(outbox.c.ticket_id == ticket_id, outbox.c.kind == "auto_reply").limit(1)
    ).first()
    return found is not None


def survey_text(customer_name: str, number: int | None, url: str) -> str:
    greeting = f"Hello {customer_name}," if customer_name else "Hello,"
    ticket = f"ticket #{number}" if number else "your ticket"
    return (
        f"{greeting}\n\nwe have solved {ticket}. How did we do? One click tells us:\n\n{url}\n\n"
        "The link works once and only for this ticket.\n"
    )


def queue_survey(connection: Connection, survey_id: str, settings: ChannelSettings, *, now: datetime) -> str | None:
    """Mail the customer the signed link of a survey just issued for a solved ticket.

    Sent only where the ticket came in by email and the server knows its public address
    (``[channels] public_url``); marked ``Auto-Submitted: auto-replied`` like every message a
    person did not write, and never sent to automated mail.
    """
    from supportdesk.domain.feedback import link, survey_token
    from supportdesk.store.models_sla import Survey

    if not settings.public_url:
        return None
    survey = _row(connection, Survey, survey_id)
    ticket = _row(connection, Ticket, survey["ticket_id"]) if survey else None
    if survey is None or ticket is None or ticket["channel"] != Channel.EMAIL.value:
        return None
    last = _latest_inbound_mail(connection, ticket)
    if last is not None and last.get("automated"):
        return None
    customer = _row(connection, Customer, ticket["requester_id"])
    url = link(settings.public_url, survey_token(connection, survey_id))
    return _queue_email(
        connection,
        key=f"email:survey:{survey_id}",
        kind="auto_reply",
        ticket=ticket,
        message_id=None,
        token=f"survey{survey_id}",
        body=survey_text(customer["name"] if customer else "", ticket["number"], url),
        settings=settings,
        now=now,
    )


def auto_reply_text(customer_name: str, number: int | None, group_name: str) -> str:
    greeting = f"Hello {customer_name}," if customer_name else "Hello,"
    ticket = f"ticket #{number}" if number else "a ticket"
    return (
        f"{greeting}\n\nwe have received your message and opened {ticket} for it. We will answer as soon as we "
        "can; to add anything, reply to this mail and keep the ticket number in the subject.\n\n"
        f"— {group_name}\n"
    )


def queue_auto_reply(
    connection: Connection, ticket_id: str, inbound_message_id: str, settings: ChannelSettings, *, now: datetime
) -> str | None:
    """Queue the acknowledgement of a new email ticket (marked ``Auto-Submitted: auto-replied``)."""
    ticket = _row(connection, Ticket, ticket_id)
    if ticket is None:
        return None
    customer = _row(connection, Customer, ticket["requester_id"])
    group = _row(connection, Group, ticket["group_id"]) if ticket["group_id"] else None
    return _queue_email(
        connection,
        key=f"email:auto-reply:{inbound_message_id}",
        kind="auto_reply",
        ticket=ticket,
        message_id=None,
        token=f"ack{inbound_message_id}",
        body=auto_reply_text(
            customer["name"] if customer else "", ticket["number"], _sender(ticket, group, settings)[1]
        ),
        settings=settings,
        now=now,
    )


# --- webhooks -----------------------------------------------------------------------------------


def _conversation(
    connection: Connection, message: dict[str, Any], ticket: dict[str, Any] | None
) -> tuple[WebhookChannel, str] | None:
    """The webhook channel and outside conversation a reply on this ticket goes back to.

    The ticket's own conversation, else (a reply to a closed conversation's ticket lands on its
    follow-up) the conversation of the ticket it follows up; only a channel whose messages are of
    the reply's kind (a chat reply to a chat conversation, never a phone note to it).
    """
    from supportdesk.channels import webhooks

    for ticket_id in (message["ticket_id"], ticket["follow_up_of_id"] if ticket else None):
        if not ticket_id:
            continue
        for name, conversation in lookups.conversations_of_ticket(connection, ticket_id):
            plugin = webhooks.get(name)
            if plugin is not None and plugin.message_channel.value == message["channel"]:
                return plugin, conversation
    return None


def _queue_webhook_reply(
    connection: Connection, message: dict[str, Any], settings: ChannelSettings, now: datetime
) -> str | None:
    ticket = _row(connection, Ticket, message["ticket_id"])
    found = _conversation(connection, message, ticket)
    if found is None:
        return None
    plugin, conversation = found
    hook = settings.webhook(plugin.name)
    if plugin.replies_by_email and not (hook and hook.outbound_url):
        return _queue_email_reply(connection, message, settings, now)
    agent = _row(connection, Agent, message["author_agent_id"]) if message["author_agent_id"] else None
    reply = Reply(conversation, message, ticket, agent["name"] if agent else "Support")
    key = f"{plugin.name}:{message['id']}"
    body = plugin.reply_body(reply)
    files = _file_list(connection, message["id"])
    if files:
        body["attachments"] = files
    values: dict[str, Any] = {
        "key": key,
        "channel": plugin.name,
        "kind": "reply",
        "ticket_id": message["ticket_id"],
        "message_id": message["id"],
        "recipient": hook.outbound_url if hook and hook.outbound_url else "",
        "payload": json.dumps(body, ensure_ascii=False),
        "status": "queued",
        "next_attempt_at": now,
        "created_at": now,
    }
    refused = plugin.refuse_reply(reply)
    if refused:
        values.update(status="failed", last_error=refused)
    elif not values["recipient"]:
        values.update(status="failed", last_error=f"no outbound_url is configured for the {plugin.name} webhook")
    return key if _enqueue(connection, values) and values["status"] == "queued" else None
