"""Files a chat, social or web-form platform posts with a message: into the one blob store.

A platform sends a file inline, as base64 in the signed JSON body (``attachments: [{filename,
content_type, data_base64}]``). We never fetch a URL a payload names: that would let whoever
holds a channel's secret make the server reach into the team's network. Inline bytes land in
the same store as mail and agents' uploads, under the same rules as mail's files:

- the body is bounded by the mail limit (``[attachments]`` grows it with the per-message bytes);
- a file over ``max_file_bytes``, a message's files past ``max_message_bytes`` or past 100, and
  a ticket's past ``max_per_ticket`` are *skipped*, listed in the message's meta with the reason,
  never stored (the customer's text still arrives);
- the name is cleaned (no path, no control characters, bounded), the declared type is the
  platform's if it is a well-formed MIME type (else the extension's), the sniffed type comes
  from the bytes, and the console and CLI flag a disagreement (:func:`~supportdesk.store.
  file_types.mismatch`);
- base64 that does not decode strictly refuses the whole body (422 naming the field) before
  anything is written.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import text

from supportdesk.channels.attachments import store_bytes
from supportdesk.store.file_names import sanitize_filename
from supportdesk.store.file_types import HEAD_BYTES, declared_for, normalize, sniff

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from supportdesk.channels.settings import MailLimits

#: A MIME type as a platform may declare it (``type/subtype``, no parameters kept).
_MIME = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$")
#: Base64 of the largest file a body may carry is bounded by the body limit, not here.
MAX_BASE64_CHARS = 1 << 31


class WebhookFile(BaseModel):
    """One file posted with a message (inline; see the module docstring)."""

    model_config = ConfigDict(extra="forbid")

    filename: str = Field(min_length=1, max_length=1000, description="The name the sender gave (cleaned on arrival).")
    content_type: str | None = Field(default=None, max_length=200, description="What the sender says it is.")
    data_base64: str = Field(max_length=MAX_BASE64_CHARS, description="The bytes, standard base64.")

    @field_validator("data_base64")
    @classmethod
    def _decodes(cls, value: str) -> str:
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("is not standard base64") from None
        return value

    def data(self) -> bytes:
        return base64.b64decode(self.data_base64, validate=True)


def _declared(given: str | None, name: str) -> str:
    kind = normalize(given)
    return kind if _MIME.match(kind) else declared_for(name)


def take_files(
    engine: Engine, limits: MailLimits, root: Any, ticket_id: str, files: list[WebhookFile]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Store what fits; returns the mutation's ``attachments`` and the ``skipped_attachments``."""
    if not files:
        return [], []
    with engine.connect() as connection:
        held = int(
            connection.execute(
                text("SELECT count(*) FROM attachment x JOIN message m ON m.id = x.message_id WHERE m.ticket_id = :t"),
                {"t": ticket_id},
            ).scalar()
            or 0
        )
    room = max(0, limits.max_per_ticket - held)
    kept: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    total = 0
    for file in files:
        data = file.data()
        name = sanitize_filename(file.filename)
        reason = None
        if len(kept) >= min(room, limits.max_attachments):
            reason = (
                f"the ticket holds {limits.max_per_ticket} files already"
                if len(kept) >= room
                else f"the message has more than {limits.max_attachments} attachments"
            )
        elif len(data) > limits.max_attachment_bytes:
            reason = f"larger than {limits.max_attachment_bytes:,} bytes"
        elif total + len(data) > limits.max_total_attachment_bytes:
            reason = f"the message's attachments pass {limits.max_total_attachment_bytes:,} bytes"
        if reason:
            skipped.append({"filename": name, "size": len(data), "reason": reason})
            continue
        total += len(data)
        declared = _declared(file.content_type, name)
        kept.append(
            {
                "sha256": store_bytes(root, data).sha256,
                "filename": name,
                "size": len(data),
                "content_type": declared,
                "sniffed_type": sniff(data[:HEAD_BYTES], declared, name),
            }
        )
    return kept, skipped


__all__ = ["WebhookFile", "take_files"]
