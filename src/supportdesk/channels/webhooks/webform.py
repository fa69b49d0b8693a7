"""Web form: one submitted contact form opens one ticket carrying the form's fields."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pydantic import Field

from supportdesk.channels.errors import ChannelError
from supportdesk.channels.webhook_files import WebhookFile
from supportdesk.channels.webhooks.base import VIA, Payload, Scalar, WebhookChannel, WebhookOutcome
from supportdesk.store.enums import Channel

if TYPE_CHECKING:
    from supportdesk.channels.webhooks.base import IngestHooks


class WebformPayload(Payload):
    """One submitted contact form."""

    submission_id: str = Field(min_length=1, max_length=200)
    form: str = Field(default="contact", max_length=120)
    email: str = Field(max_length=320)
    name: str | None = Field(default=None, max_length=300)
    subject: str = Field(min_length=1, max_length=500)
    message: str = Field(min_length=1)
    fields: dict[str, Scalar] = Field(default_factory=dict, max_length=50)
    page_url: str | None = Field(default=None, max_length=2000)
    attachments: list[WebhookFile] = Field(default_factory=list, max_length=100)


class Webform(WebhookChannel):
    name = "webform"
    message_channel = Channel.WEB
    payload = WebformPayload
    replies_by_email = True
    example = {  # noqa: RUF012 - read-only documentation
        "submission_id": "s-9",
        "form": "returns",
        "email": "rita@example.com",
        "name": "Rita",
        "subject": "Return a kettle",
        "message": "It leaks.",
        "fields": {"order": "A-77"},
    }

    def ingest(
        self, hooks: IngestHooks, payload: WebformPayload, *, attachments: Sequence[dict[str, Any]] = ()
    ) -> WebhookOutcome:
        """``attachments`` (``ticket.create``'s) come only from the server's own help-center form,
        which stored and checked the files; a signed outside form never names stored files."""
        outcome = WebhookOutcome(channel=self.name)
        meta: dict[str, Any] = {
            "webform": {
                "form": payload.form,
                "submission_id": payload.submission_id,
                "page_url": payload.page_url,
                VIA: f"web form {payload.form}",
            }
        }
        fields = {"form": payload.form, **payload.fields}

        def create(ticket_id: str, message_id: str) -> dict[str, Any]:
            files, skipped = hooks.files(ticket_id, payload.attachments)
            if skipped:
                meta["webform"]["skipped_attachments"] = skipped
            return hooks.applier(
                "ticket.create",
                {
                    "ticket_id": ticket_id,
                    "message_id": message_id,
                    "subject": payload.subject,
                    "body": payload.message,
                    "requester": {"kind": "email", "value": payload.email, "name": payload.name},
                    "channel": self.message_channel.value,
                    "fields": fields,
                    "meta": meta,
                    "attachments": [*attachments, *files],
                },
            )

        def append(ticket_id: str, message_id: str) -> dict[str, Any]:
            raise ChannelError("this submission already has a ticket", field="submission_id")

        hooks.add(
            channel=self.name,
            conversation=payload.submission_id,
            line_id=payload.submission_id,
            create=create,
            append=append,
            outcome=outcome,
        )
        return outcome


CHANNEL = Webform()
