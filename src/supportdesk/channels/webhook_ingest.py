"""Chat, web-form and social webhooks: verify, parse, and turn into mutations.

- **chat**: a conversation is one ticket; its lines are the ticket's messages (the visitor's as
  the customer's, an operator's or bot's copied in as already-delivered replies). The platform
  may post the whole transcript each time: lines already seen are skipped by id.
- **web form**: one submission opens one ticket carrying the form's fields.
- **social**: a thread on a network is one ticket; each message carries the network and handle.

The requester is found by identity (chat handle, ``network:@handle``, email) and created when
unknown. A chat visitor's email is used only when the platform says it was verified; otherwise it
is recorded in the message, not trusted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import asdict, dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from supportdesk.channels import lookups
from supportdesk.channels.applier import ChannelIngest
from supportdesk.channels.errors import ChannelError, PayloadInvalid
from supportdesk.channels.identities import ensure_customer, find_customer
from supportdesk.channels.outbound import RECEIVED_FROM_CHANNEL
from supportdesk.channels.signing import verify_webhook
from supportdesk.channels.webhook_payloads import ChatLine, ChatPayload, SocialPayload, WebformPayload
from supportdesk.domain.errors import Conflict
from supportdesk.domain.identities import normalize_identity
from supportdesk.store.enums import Channel, IdentityKind
from supportdesk.store.ids import uuid7
from supportdesk.store.times import iso

MAX_BODY_BYTES = 2 * 1024 * 1024


@dataclass
class WebhookOutcome:
    channel: str
    ticket_id: str | None = None
    number: int | None = None
    created: bool = False
    added: list[str] = field(default_factory=list)
    duplicates: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_payload(model: type[BaseModel], body: bytes) -> Any:
    """Validate a JSON body; the error names the first wrong field."""
    if len(body) > MAX_BODY_BYTES:
        raise PayloadInvalid(f"the body is over {MAX_BODY_BYTES:,} bytes", field="body")
    try:
        return model.model_validate_json(body)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise PayloadInvalid(f"{where}: {first['msg']}", field=where) from None


class WebhookIngest(ChannelIngest):
    def handle(self, channel: str, body: bytes, headers: Mapping[str, str]) -> WebhookOutcome:
        """Verify the signature of a posted body and ingest it; raises :class:`ChannelError`."""
        hook = self.settings.webhook(channel)
        if hook is None:
            raise ChannelError(f"the {channel} channel is not configured on this server", field="channel")
        verify_webhook(
            hook.secret,
            headers,
            body,
            tolerance_seconds=self.settings.signature_tolerance_seconds,
            now=self.clock().timestamp(),
        )
        if channel == "chat":
            return self.chat(parse_payload(ChatPayload, body))
        if channel == "webform":
            return self.webform(parse_payload(WebformPayload, body))
        if channel == "social":
            return self.social(parse_payload(SocialPayload, body))
        raise ChannelError(f"unknown channel {channel!r}", field="channel")

    # --- shared -------------------------------------------------------------------------------

    def _claim_line(self, channel: str, scope: str, external_id: str) -> lookups.Claim:
        with self.engine.begin() as connection:
            return lookups.claim_message(connection, channel, scope, external_id, uuid7(), self.clock())

    def _settle(self, channel: str, scope: str, external_id: str, ticket_id: str) -> None:
        with self.engine.begin() as connection:
            lookups.settle_message(connection, channel, scope, external_id, ticket_id)

    def _release(self, channel: str, scope: str, external_id: str, message_id: str) -> None:
        with self.engine.begin() as connection:
            if not lookups.message_exists(connection, message_id):
                lookups.release_message(connection, channel, scope, external_id)

    def _open_conversation(self, channel: str, external_id: str) -> tuple[str, bool]:
        """The conversation's ticket id, and whether this call must create the ticket."""
        planned = uuid7()
        with self.engine.begin() as connection:
            existing = lookups.conversation_ticket(connection, channel, external_id)
            if existing is not None:
                return existing, False
            ticket_id = lookups.claim_conversation(connection, channel, external_id, planned, self.clock())
        return ticket_id, ticket_id == planned

    def _add(
        self,
        *,
        channel: str,
        conversation: str,
        line_id: str,
        create: Callable[[str, str], dict[str, Any]],
        append: Callable[[str, str], dict[str, Any]],
        outcome: WebhookOutcome,
    ) -> None:
        """Claim one outside message, then create the conversation's ticket or append to it."""
        claim = self._claim_line(channel, conversation, line_id)
        if claim.duplicate:
            outcome.duplicates += 1
            outcome.ticket_id = outcome.ticket_id or claim.ticket_id
            return
        ticket_id, must_create = self._open_conversation(channel, conversation)
        try:
            if must_create:
                try:
                    result = create(ticket_id, claim.message_id)
                except BaseException:
                    with self.engine.begin() as connection:
                        lookups.release_conversation(connection, channel, conversation, ticket_id)
                    raise
                outcome.created = True
            else:
                result = append(ticket_id, claim.message_id)
        except BaseException:
            self._release(channel, conversation, line_id, claim.message_id)
            raise
        if result["ticket_id"] != ticket_id:
            with self.engine.begin() as connection:
                lookups.move_conversation(connection, channel, conversation, result["ticket_id"], self.clock())
        self._settle(channel, conversation, line_id, result["ticket_id"])
        outcome.ticket_id = result["ticket_id"]
        outcome.number = result.get("number", outcome.number)
        outcome.added.append(claim.message_id)

    # --- chat ---------------------------------------------------------------------------------

    def _chat_requester(self, payload: ChatPayload) -> dict[str, Any]:
        visitor = payload.visitor
        handle = normalize_identity(IdentityKind.CHAT, visitor.id)
        if visitor.email and visitor.email_verified:
            email = normalize_identity(IdentityKind.EMAIL, visitor.email)
            owner = ensure_customer(self.engine, self.applier, IdentityKind.EMAIL, email, visitor.name)
            if find_customer(self.engine, IdentityKind.CHAT, handle) is None:
                with suppress(Conflict):  # the handle was claimed meanwhile; agents can merge the two
                    self.applier("customer.add_identity", {"customer_id": owner, "kind": "chat", "value": handle})
            return {"customer_id": owner}
        return {"kind": IdentityKind.CHAT.value, "value": handle, "name": visitor.name}

    def chat(self, payload: ChatPayload) -> WebhookOutcome:
        outcome = WebhookOutcome(channel="chat")
        requester = self._chat_requester(payload)
        visitor = payload.visitor
        base = {
            "conversation_id": payload.conversation_id,
            "visitor": visitor.id,
            "visitor_name": visitor.name,
            "visitor_email": visitor.email,
            "email_verified": visitor.email_verified,
        }
        for line in payload.messages:
            meta = {"chat": {**base, "line_id": line.id, "author": line.author, "author_name": line.author_name}}
            if line.sent_at is not None:
                meta["chat"]["sent_at"] = iso(line.sent_at)
            self._add(
                channel="chat",
                conversation=payload.conversation_id,
                line_id=line.id,
                create=self._chat_create(payload, line, requester, meta),
                append=self._chat_append(line, meta),
                outcome=outcome,
            )
        return outcome

    def _chat_create(
        self, payload: ChatPayload, line: ChatLine, requester: dict[str, Any], meta: dict[str, Any]
    ) -> Callable[[str, str], dict[str, Any]]:
        def create(ticket_id: str, message_id: str) -> dict[str, Any]:
            name = payload.visitor.name or payload.visitor.id
            subject = payload.subject or f"Chat with {name}: {line.text.splitlines()[0][:80]}"
            by_visitor = line.author == "visitor"
            if not by_visitor:
                meta[RECEIVED_FROM_CHANNEL] = True
            return self.applier(
                "ticket.create",
                {
                    "ticket_id": ticket_id,
                    "message_id": message_id,
                    "subject": subject,
                    "body": line.text,
                    "requester": requester,
                    "channel": Channel.CHAT.value,
                    "author": "customer" if by_visitor else "agent",
                    "meta": meta,
                },
            )

        return create

    def _chat_append(self, line: ChatLine, meta: dict[str, Any]) -> Callable[[str, str], dict[str, Any]]:
        def append(ticket_id: str, message_id: str) -> dict[str, Any]:
            if line.author == "visitor":
                return self.applier(
                    "ticket.receive",
                    {"ticket_id": ticket_id, "message_id": message_id, "body": line.text, "meta": meta},
                )
            return self.applier(
                "ticket.reply",
                {
                    "ticket_id": ticket_id,
                    "message_id": message_id,
                    "body": line.text,
                    "meta": {**meta, RECEIVED_FROM_CHANNEL: True},
                },
            )

        return append

    # --- web form -----------------------------------------------------------------------------

    def webform(self, payload: WebformPayload) -> WebhookOutcome:
        outcome = WebhookOutcome(channel="webform")
        meta = {"webform": {"form": payload.form, "submission_id": payload.submission_id, "page_url": payload.page_url}}
        fields = {"form": payload.form, **payload.fields}

        def create(ticket_id: str, message_id: str) -> dict[str, Any]:
            return self.applier(
                "ticket.create",
                {
                    "ticket_id": ticket_id,
                    "message_id": message_id,
                    "subject": payload.subject,
                    "body": payload.message,
                    "requester": {"kind": "email", "value": payload.email, "name": payload.name},
                    "channel": Channel.WEB.value,
                    "fields": fields,
                    "meta": meta,
                },
            )

        def append(ticket_id: str, message_id: str) -> dict[str, Any]:
            raise ChannelError("this submission already has a ticket", field="submission_id")

        self._add(
            channel="webform",
            conversation=payload.submission_id,
            line_id=payload.submission_id,
            create=create,
            append=append,
            outcome=outcome,
        )
        return outcome

    # --- social -------------------------------------------------------------------------------

    def social(self, payload: SocialPayload) -> WebhookOutcome:
        outcome = WebhookOutcome(channel="social")
        handle = normalize_identity(IdentityKind.SOCIAL, f"{payload.network}:{payload.handle}")
        network, _, at_handle = handle.partition(":")
        conversation = f"{network}:{payload.thread_id}"
        meta = {
            "social": {
                "network": network,
                "handle": at_handle,
                "thread_id": payload.thread_id,
                "message_id": payload.message_id,
                "url": payload.url,
                "private": payload.private,
                "sent_at": iso(payload.sent_at),
            }
        }

        def create(ticket_id: str, message_id: str) -> dict[str, Any]:
            return self.applier(
                "ticket.create",
                {
                    "ticket_id": ticket_id,
                    "message_id": message_id,
                    "subject": f"{network} {at_handle}: {payload.text.splitlines()[0][:80]}",
                    "body": payload.text,
                    "requester": {"kind": "social", "value": handle, "name": payload.name},
                    "channel": Channel.SOCIAL.value,
                    "meta": meta,
                },
            )

        def append(ticket_id: str, message_id: str) -> dict[str, Any]:
            author = ensure_customer(self.engine, self.applier, IdentityKind.SOCIAL, handle, payload.name)
            return self.applier(
                "ticket.receive",
                {
                    "ticket_id": ticket_id,
                    "message_id": message_id,
                    "body": payload.text,
                    "customer_id": author,
                    "meta": meta,
                },
            )

        self._add(
            channel="social",
            conversation=conversation,
            line_id=payload.message_id,
            create=create,
            append=append,
            outcome=outcome,
        )
        return outcome
