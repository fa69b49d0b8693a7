"""Attachment metadata carried by the mutations that add a customer's message.

The bytes are already stored by content hash (the channel did it before the mutation); the
mutation only records name, size and type next to the message, in the same transaction, so a
message and its attachments appear together or not at all.
"""

from __future__ import annotations

import re

from pydantic import Field

from supportdesk.domain.errors import ValidationFailed
from supportdesk.domain.registry import Args
from supportdesk.domain.text_safety import sanitize_line
from supportdesk.domain.tx import Tx
from supportdesk.store.ids import uuid7

MAX_ATTACHMENTS = 100
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class AttachmentIn(Args):
    attachment_id: str = Field(default_factory=uuid7)
    sha256: str
    filename: str = Field(max_length=255)
    size: int = Field(ge=0)
    content_type: str = Field(default="application/octet-stream", max_length=255)


def add_attachments(tx: Tx, message_id: str, attachments: list[AttachmentIn]) -> None:
    for attachment in attachments:
        if not _SHA256.match(attachment.sha256):
            raise ValidationFailed("an attachment's sha256 must be 64 lower-case hex digits", field="attachments")
        tx.insert(
            "attachment",
            {
                "id": attachment.attachment_id,
                "message_id": message_id,
                "sha256": attachment.sha256,
                "filename": sanitize_line(attachment.filename, cap=255, redact=False) or "attachment",
                "size": attachment.size,
                "content_type": sanitize_line(attachment.content_type, cap=255, redact=False).lower(),
                "created_at": tx.now,
            },
        )
