"""Attachment metadata carried by the mutations that add a message (create, reply, note, receive).

The bytes are already stored by content hash before the mutation runs: a channel stored them, or
the agent's workspace did and its sync uploads them before it pushes the mutation (the server
refuses a hash it does not hold, or that the agent never uploaded and cannot see:
``server/routes/blobs.py``). The mutation only records name, size and types next to the message,
in the same transaction, so a message and its attachments appear together or not at all.
"""

from __future__ import annotations

import re

from pydantic import Field

from supportdesk.domain.errors import ValidationFailed
from supportdesk.domain.registry import Args
from supportdesk.domain.text_safety import sanitize_line
from supportdesk.domain.tx import Tx
from supportdesk.store.file_names import sanitize_filename
from supportdesk.store.ids import uuid7

MAX_ATTACHMENTS = 100
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class AttachmentIn(Args):
    attachment_id: str = Field(default_factory=uuid7)
    sha256: str
    filename: str = Field(max_length=255)
    size: int = Field(ge=0)
    content_type: str = Field(default="application/octet-stream", max_length=255)
    #: What the bytes show; the server sets it from the stored file for a pushed mutation.
    sniffed_type: str | None = Field(default=None, max_length=255)


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
                "filename": sanitize_filename(attachment.filename),
                "size": attachment.size,
                "content_type": sanitize_line(attachment.content_type, cap=255, redact=False).lower(),
                "sniffed_type": (
                    sanitize_line(attachment.sniffed_type, cap=255, redact=False).lower() or None
                    if attachment.sniffed_type
                    else None
                ),
                "created_at": tx.now,
            },
        )
