"""What a webhook channel is: a name, the JSON it accepts, how that becomes tickets, how replies leave.

A channel is one subclass of :class:`WebhookChannel` in its own module, registered by one line in
:mod:`supportdesk.channels.webhooks`. Its ``name`` is everything the rest of the system knows it
by: the endpoint ``POST /v1/channels/<name>``, the config table ``[channels.webhooks.<name>]``,
the ``channel`` of its outbox rows and message references, the key of its data in a message's
``meta``. Nothing else keeps a list of channel names, so a registered channel cannot be half known
(a test walks the registry through ingest, settings, the outbox, the senders and the endpoint).

What a channel decides is small: which payload it accepts (a pydantic model that forbids unknown
fields and bounds every size), how one payload becomes ``ticket.create`` / ``ticket.receive``
through :class:`~supportdesk.channels.webhook_ingest.WebhookIngest` (which does the signature,
the idempotency claims and the conversation bookkeeping), and what JSON an agent's reply is
posted as. Delivery is the shared outbox; the sender is the signed JSON webhook unless a channel
brings its own.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from pydantic import BaseModel, ConfigDict, ValidationError

from supportdesk.channels.errors import PayloadInvalid
from supportdesk.store.enums import Channel, IdentityKind
from supportdesk.store.times import iso

if TYPE_CHECKING:
    from supportdesk.channels.applier import Applier
    from supportdesk.channels.delivery import Sender
    from supportdesk.channels.settings import ChannelSettings
    from supportdesk.channels.webhook_files import WebhookFile

MAX_BODY_BYTES = 2 * 1024 * 1024
#: Set in a message's meta when it was copied in from the channel (a chat bot's line): it is
#: already where it belongs and is never sent back.
RECEIVED_FROM_CHANNEL = "received_from_channel"
#: The one line under a message that says where it came from (``explain.channel_line`` shows it).
VIA = "via"

Scalar = str | int | float | bool | None


class Payload(BaseModel):
    """A webhook body: unknown fields are refused, every string is bounded."""

    model_config = ConfigDict(extra="forbid", str_max_length=200_000)


def parse_payload(model: type[BaseModel], body: bytes, limit: int = MAX_BODY_BYTES) -> Any:
    """Validate a JSON body; the error names the first wrong field.

    ``limit`` is :data:`MAX_BODY_BYTES` unless the body may carry files (then the mail limit:
    every text field stays bounded by :class:`Payload` either way)."""
    if len(body) > limit:
        raise PayloadInvalid(f"the body is over {limit:,} bytes", field="body")
    try:
        return model.model_validate_json(body)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise PayloadInvalid(f"{where}: {first['msg']}", field=where) from None


@dataclass
class WebhookOutcome:
    """What one webhook call did: the ticket, whether it was new, the messages added or seen."""

    channel: str
    ticket_id: str | None = None
    number: int | None = None
    created: bool = False
    added: list[str] = field(default_factory=list)
    duplicates: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Reply:
    """An agent's public reply on a ticket of this channel, about to be queued."""

    conversation_id: str
    message: dict[str, Any]
    ticket: dict[str, Any] | None
    author_name: str


class IngestHooks(Protocol):
    """What a channel's ``ingest`` may call. :class:`~supportdesk.channels.webhook_ingest.WebhookIngest`
    provides it; it is named here, not imported, because the ingest imports this module."""

    applier: Applier

    def ensure_customer(self, kind: IdentityKind, value: str, name: str | None) -> str: ...

    def find_customer(self, kind: IdentityKind, value: str) -> str | None: ...

    def files(self, ticket_id: str, files: list[WebhookFile]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Store a message's files in the blob store within the limits: ``(attachments, skipped)``."""
        ...

    def add(
        self,
        *,
        channel: str,
        conversation: str,
        line_id: str,
        create: Callable[[str, str], dict[str, Any]],
        append: Callable[[str, str], dict[str, Any]],
        outcome: WebhookOutcome,
    ) -> None: ...


class WebhookChannel(ABC):
    """One webhook channel. Subclasses set the class attributes and write :meth:`ingest`."""

    #: The endpoint, config table, outbox and meta key: ``chat``, ``webform``, ``sms`` …
    name: ClassVar[str]
    #: What its tickets and messages say they came by (the query language's ``channel:``).
    message_channel: ClassVar[Channel]
    #: The JSON body the platform posts.
    payload: ClassVar[type[Payload]]
    #: A valid body, for the documentation and the registry test.
    example: ClassVar[dict[str, Any]]
    #: Replies go by email to the requester when no ``outbound_url`` is configured: a form has
    #: no conversation of its own to answer in (the help center's form never has one).
    replies_by_email: ClassVar[bool] = False

    def parse(self, body: bytes, limit: int = MAX_BODY_BYTES) -> Any:
        """The validated payload; raises :class:`PayloadInvalid` naming the wrong field."""
        return parse_payload(self.payload, body, limit)

    @abstractmethod
    def ingest(self, hooks: IngestHooks, payload: Any) -> WebhookOutcome:
        """Turn one verified payload into mutations (through ``hooks``)."""

    def refuse_reply(self, reply: Reply) -> str | None:
        """Why this reply cannot go out at all (it is then recorded as failed), or None."""
        return None

    def reply_body(self, reply: Reply) -> dict[str, Any]:
        """The JSON posted to the channel's ``outbound_url`` for an agent's reply."""
        message, ticket = reply.message, reply.ticket
        return {
            "event": "reply",
            "channel": self.name,
            "conversation_id": reply.conversation_id,
            "message_id": message["id"],
            "ticket_id": message["ticket_id"],
            "ticket_number": ticket["number"] if ticket else None,
            "text": message["body"],
            "author": {"name": reply.author_name},
            "created_at": iso(message["created_at"]),
        }

    def make_sender(self, settings: ChannelSettings) -> Sender:
        """What delivers this channel's outbox rows: the signed JSON webhook, unless overridden."""
        from supportdesk.channels.webhook_out import WebhookSender

        return WebhookSender(settings)
