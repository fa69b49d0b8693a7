"""Chat: a conversation is one ticket; its lines are the ticket's messages.

The visitor's lines are the customer's; an operator's or a bot's are copied in as replies that
were already delivered (never sent back). The platform may post the whole transcript each time:
lines already seen are skipped by id. A visitor's email finds an existing customer only when the
platform says it verified it; otherwise it is recorded, not trusted.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from supportdesk.channels.webhook_files import WebhookFile
from supportdesk.channels.webhooks.base import (
    RECEIVED_FROM_CHANNEL,
    VIA,
    Payload,
    WebhookChannel,
    WebhookOutcome,
)
from supportdesk.domain.errors import Conflict
from supportdesk.domain.identities import normalize_identity
from supportdesk.store.enums import Channel, IdentityKind
from supportdesk.store.times import iso

if TYPE_CHECKING:
    from supportdesk.channels.webhooks.base import IngestHooks


class ChatVisitor(Payload):
    id: str = Field(min_length=1, max_length=120, description="the platform's handle for the visitor")
    name: str | None = Field(default=None, max_length=300)
    email: str | None = Field(default=None, max_length=320)
    email_verified: bool = Field(default=False, description="the platform confirmed the visitor owns the email")


class ChatLine(Payload):
    id: str = Field(min_length=1, max_length=200)
    author: Literal["visitor", "agent", "bot"] = "visitor"
    author_name: str | None = Field(default=None, max_length=200)
    text: str = Field(min_length=1)
    sent_at: datetime | None = None
    attachments: list[WebhookFile] = Field(default_factory=list, max_length=100)


class ChatPayload(Payload):
    """Lines of one chat conversation (the whole transcript, or only the new lines)."""

    conversation_id: str = Field(min_length=1, max_length=200)
    visitor: ChatVisitor
    subject: str | None = Field(default=None, max_length=500)
    messages: list[ChatLine] = Field(min_length=1, max_length=500)


class Chat(WebhookChannel):
    name = "chat"
    message_channel = Channel.CHAT
    payload = ChatPayload
    example = {  # noqa: RUF012 - read-only documentation
        "conversation_id": "c-1",
        "visitor": {"id": "v-42", "name": "Vera", "email": "vera@example.com", "email_verified": True},
        "messages": [{"id": "l1", "author": "visitor", "text": "Hello"}],
    }

    def ingest(self, hooks: IngestHooks, payload: ChatPayload) -> WebhookOutcome:
        outcome = WebhookOutcome(channel=self.name)
        requester = self._requester(hooks, payload)
        visitor = payload.visitor
        base = {
            "conversation_id": payload.conversation_id,
            "visitor": visitor.id,
            "visitor_name": visitor.name,
            "visitor_email": visitor.email,
            "email_verified": visitor.email_verified,
        }
        for line in payload.messages:
            who = line.author_name or line.author
            meta: dict[str, Any] = {
                "chat": {
                    **base,
                    "line_id": line.id,
                    "author": line.author,
                    "author_name": line.author_name,
                    VIA: f"chat {payload.conversation_id} · {who}",
                }
            }
            if line.sent_at is not None:
                meta["chat"]["sent_at"] = iso(line.sent_at)
            hooks.add(
                channel=self.name,
                conversation=payload.conversation_id,
                line_id=line.id,
                create=self._create(hooks, payload, line, requester, meta),
                append=self._append(hooks, line, meta),
                outcome=outcome,
            )
        return outcome

    def _requester(self, hooks: IngestHooks, payload: ChatPayload) -> dict[str, Any]:
        visitor = payload.visitor
        handle = normalize_identity(IdentityKind.CHAT, visitor.id)
        if visitor.email and visitor.email_verified:
            email = normalize_identity(IdentityKind.EMAIL, visitor.email)
            owner = hooks.ensure_customer(IdentityKind.EMAIL, email, visitor.name)
            if hooks.find_customer(IdentityKind.CHAT, handle) is None:
                with suppress(Conflict):  # the handle was claimed meanwhile; agents can merge the two
                    hooks.applier("customer.add_identity", {"customer_id": owner, "kind": "chat", "value": handle})
            return {"customer_id": owner}
        return {"kind": IdentityKind.CHAT.value, "value": handle, "name": visitor.name}

    def _create(
        self,
        hooks: IngestHooks,
        payload: ChatPayload,
        line: ChatLine,
        requester: dict[str, Any],
        meta: dict[str, Any],
    ) -> Callable[[str, str], dict[str, Any]]:
        def create(ticket_id: str, message_id: str) -> dict[str, Any]:
            name = payload.visitor.name or payload.visitor.id
            subject = payload.subject or f"Chat with {name}: {line.text.splitlines()[0][:80]}"
            by_visitor = line.author == "visitor"
            if not by_visitor:
                meta[RECEIVED_FROM_CHANNEL] = True
            files = _files(hooks, ticket_id, line, meta)
            return hooks.applier(
                "ticket.create",
                {
                    "ticket_id": ticket_id,
                    "message_id": message_id,
                    "subject": subject,
                    "body": line.text,
                    "requester": requester,
                    "channel": self.message_channel.value,
                    "author": "customer" if by_visitor else "agent",
                    "meta": meta,
                    "attachments": files,
                },
            )

        return create

    def _append(self, hooks: IngestHooks, line: ChatLine, meta: dict[str, Any]) -> Callable[[str, str], dict[str, Any]]:
        def append(ticket_id: str, message_id: str) -> dict[str, Any]:
            files = _files(hooks, ticket_id, line, meta)
            if line.author == "visitor":
                return hooks.applier(
                    "ticket.receive",
                    {
                        "ticket_id": ticket_id,
                        "message_id": message_id,
                        "body": line.text,
                        "meta": meta,
                        "attachments": files,
                    },
                )
            return hooks.applier(
                "ticket.reply",
                {
                    "ticket_id": ticket_id,
                    "message_id": message_id,
                    "body": line.text,
                    "meta": {**meta, RECEIVED_FROM_CHANNEL: True},
                    "attachments": files,
                },
            )

        return append


def _files(hooks: IngestHooks, ticket_id: str, line: ChatLine, meta: dict[str, Any]) -> list[dict[str, Any]]:
    """The line's files stored; the ones past a limit are listed in its meta, never stored."""
    kept, skipped = hooks.files(ticket_id, line.attachments)
    if skipped:
        meta["chat"]["skipped_attachments"] = skipped
    return kept


CHANNEL = Chat()
