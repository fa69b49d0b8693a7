"""SMS: a text message from a phone number to one of our numbers, and replies back to it.

An SMS gateway (the team's provider, or a small bridge in front of it) posts each inbound message
signed like every webhook: the gateway's message id (a redelivery is recognised), the sender's
number and the number it was sent to, both in E.164 (``+4915112345678``), the text and any MMS
media links. The sender's number is a *phone identity*, the same one a logged call uses, so one
customer's calls and texts meet on one profile. One pair of numbers (ours, theirs) is one
conversation and one ticket; a text to a closed ticket opens its follow-up.

An agent's reply is posted to the gateway's ``outbound_url`` with ``to`` set to the number the
conversation used — never to whatever phone number the customer record holds first, which a
merge can change. It says how many segments it costs (160 GSM-7 characters, 70 otherwise; 153
and 67 each once split); a reply longer than :data:`MAX_SEGMENTS` is refused and recorded as
failed, so nobody texts a customer a 40-part essay. Media links are shown, never fetched: they
are the gateway's URLs and the server does not follow addresses a customer controls.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import ConfigDict, Field

from supportdesk.channels.errors import PayloadInvalid
from supportdesk.channels.webhooks.base import VIA, Payload, Reply, WebhookChannel, WebhookOutcome
from supportdesk.domain.identities import normalize_identity
from supportdesk.store.enums import Channel, IdentityKind
from supportdesk.store.times import iso

if TYPE_CHECKING:
    from supportdesk.channels.webhooks.base import IngestHooks

E164 = r"^\+[1-9][0-9]{6,14}$"
MAX_TEXT_CHARS = 5_000
MAX_SEGMENTS = 10

#: GSM 03.38: the basic set costs one septet a character, the extension set two.
GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENDED = frozenset("^{}\\[~]|€\f")


class SmsMedia(Payload):
    url: str = Field(max_length=2000, pattern=r"^https?://")
    content_type: str | None = Field(default=None, max_length=120)


class SmsPayload(Payload):
    """One inbound text message (``from`` and ``to`` in E.164)."""

    model_config = ConfigDict(extra="forbid", str_max_length=200_000, populate_by_name=True)

    message_id: str = Field(min_length=1, max_length=200, description="the gateway's id for this message")
    sender: str = Field(alias="from", pattern=E164, description="the customer's number")
    recipient: str = Field(alias="to", pattern=E164, description="our number it was sent to")
    text: str = Field(default="", max_length=MAX_TEXT_CHARS)
    media: list[SmsMedia] = Field(default_factory=list, max_length=10)
    sent_at: datetime | None = None


def segments(text: str) -> tuple[int, str]:
    """How many SMS segments ``text`` costs, and its encoding (``GSM-7`` or ``UCS-2``)."""
    if all(ch in GSM_BASIC or ch in GSM_EXTENDED for ch in text):
        units = sum(2 if ch in GSM_EXTENDED else 1 for ch in text)
        single, part, encoding = 160, 153, "GSM-7"
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, part, encoding = 70, 67, "UCS-2"
    return (1 if units <= single else math.ceil(units / part)), encoding


def _numbers(conversation_id: str) -> tuple[str, str]:
    """(our number, the customer's number) of a conversation id ``<ours>:<theirs>``."""
    ours, _, theirs = conversation_id.partition(":")
    return ours, theirs


class Sms(WebhookChannel):
    name = "sms"
    message_channel = Channel.SMS
    payload = SmsPayload
    example = {  # noqa: RUF012 - read-only documentation
        "message_id": "SM-81",
        "from": "+4915112345678",
        "to": "+493040001000",
        "text": "Is my order shipped?",
    }

    def ingest(self, hooks: IngestHooks, payload: SmsPayload) -> WebhookOutcome:
        if not payload.text.strip() and not payload.media:
            raise PayloadInvalid("text: an SMS needs text or media", field="text")
        outcome = WebhookOutcome(channel=self.name)
        number = normalize_identity(IdentityKind.PHONE, payload.sender)
        ours = normalize_identity(IdentityKind.PHONE, payload.recipient)
        conversation = f"{ours}:{number}"
        media = [{"url": item.url, "content_type": item.content_type} for item in payload.media]
        extra = f" · {len(media)} media" if media else ""
        meta = {
            "sms": {
                "from": number,
                "to": ours,
                "message_id": payload.message_id,
                "media": media,
                "sent_at": iso(payload.sent_at),
                VIA: f"SMS {number} → {ours}{extra}",
            }
        }
        lines = [payload.text.strip()] if payload.text.strip() else []
        lines += [f"[{item['content_type'] or 'media'}] {item['url']}" for item in media]
        body = "\n\n".join(lines)

        def create(ticket_id: str, message_id: str) -> dict[str, Any]:
            # not the number: the subject is free text, where card redaction may mistake a long number for a card
            first = body.splitlines()[0][:80] if body else ""
            return hooks.applier(
                "ticket.create",
                {
                    "ticket_id": ticket_id,
                    "message_id": message_id,
                    "subject": f"SMS: {first}",
                    "body": body,
                    "requester": {"kind": IdentityKind.PHONE.value, "value": number},
                    "channel": self.message_channel.value,
                    "meta": meta,
                },
            )

        def append(ticket_id: str, message_id: str) -> dict[str, Any]:
            author = hooks.ensure_customer(IdentityKind.PHONE, number, None)
            return hooks.applier(
                "ticket.receive",
                {"ticket_id": ticket_id, "message_id": message_id, "body": body, "customer_id": author, "meta": meta},
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

    def refuse_reply(self, reply: Reply) -> str | None:
        count, encoding = segments(reply.message["body"])
        if count > MAX_SEGMENTS:
            return f"the reply is {count} SMS segments ({encoding}); at most {MAX_SEGMENTS} are sent: shorten it"
        return None

    def reply_body(self, reply: Reply) -> dict[str, Any]:
        ours, theirs = _numbers(reply.conversation_id)
        count, encoding = segments(reply.message["body"])
        return {**super().reply_body(reply), "to": theirs, "from": ours, "segments": count, "encoding": encoding}


CHANNEL = Sms()
