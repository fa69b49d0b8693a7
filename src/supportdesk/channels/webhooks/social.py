"""Social networks: a thread on a network is one ticket; each message carries network and handle."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import Field

from supportdesk.channels.webhook_files import WebhookFile
from supportdesk.channels.webhooks.base import VIA, Payload, WebhookChannel, WebhookOutcome
from supportdesk.domain.identities import normalize_identity
from supportdesk.store.enums import Channel, IdentityKind
from supportdesk.store.times import iso

if TYPE_CHECKING:
    from supportdesk.channels.webhooks.base import IngestHooks


class SocialPayload(Payload):
    """One message in a social-network thread (a mention, a reply, a direct message)."""

    network: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.\-]+$")
    thread_id: str = Field(min_length=1, max_length=200)
    message_id: str = Field(min_length=1, max_length=200)
    handle: str = Field(min_length=1, max_length=100)
    name: str | None = Field(default=None, max_length=300)
    text: str = Field(min_length=1)
    url: str | None = Field(default=None, max_length=2000)
    private: bool = False
    sent_at: datetime | None = None
    attachments: list[WebhookFile] = Field(default_factory=list, max_length=100)


class Social(WebhookChannel):
    name = "social"
    message_channel = Channel.SOCIAL
    payload = SocialPayload
    example = {  # noqa: RUF012 - read-only documentation
        "network": "mastodon",
        "thread_id": "t-1",
        "message_id": "m-1",
        "handle": "@sam",
        "text": "@acme my order is late",
    }

    def ingest(self, hooks: IngestHooks, payload: SocialPayload) -> WebhookOutcome:
        outcome = WebhookOutcome(channel=self.name)
        handle = normalize_identity(IdentityKind.SOCIAL, f"{payload.network}:{payload.handle}")
        network, _, at_handle = handle.partition(":")
        conversation = f"{network}:{payload.thread_id}"
        meta: dict[str, Any] = {
            "social": {
                "network": network,
                "handle": at_handle,
                "thread_id": payload.thread_id,
                "message_id": payload.message_id,
                "url": payload.url,
                "private": payload.private,
                "sent_at": iso(payload.sent_at),
                VIA: f"{network} {at_handle}{' (private)' if payload.private else ''}",
            }
        }

        def files(ticket_id: str) -> list[dict[str, Any]]:
            kept, skipped = hooks.files(ticket_id, payload.attachments)
            if skipped:
                meta["social"]["skipped_attachments"] = skipped
            return kept

        def create(ticket_id: str, message_id: str) -> dict[str, Any]:
            return hooks.applier(
                "ticket.create",
                {
                    "ticket_id": ticket_id,
                    "message_id": message_id,
                    "subject": f"{network} {at_handle}: {payload.text.splitlines()[0][:80]}",
                    "body": payload.text,
                    "requester": {"kind": "social", "value": handle, "name": payload.name},
                    "channel": self.message_channel.value,
                    "meta": meta,
                    "attachments": files(ticket_id),
                },
            )

        def append(ticket_id: str, message_id: str) -> dict[str, Any]:
            author = hooks.ensure_customer(IdentityKind.SOCIAL, handle, payload.name)
            return hooks.applier(
                "ticket.receive",
                {
                    "ticket_id": ticket_id,
                    "message_id": message_id,
                    "body": payload.text,
                    "customer_id": author,
                    "meta": meta,
                    "attachments": files(ticket_id),
                },
            )

        hooks.add(
            channel=self.name,
            conversation=conversation,
            line_id=payload.message_id,
            create=create,
            append=append,
            outcome=outcome,
        )
        return outcome


CHANNEL = Social()
