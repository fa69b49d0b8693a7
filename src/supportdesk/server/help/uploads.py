"""Files a customer attaches to the web form: read, checked, then stored in the one blob store.

The form posts ``multipart/form-data`` when it offers files (a server with a blob store,
``[attachments]``). The body is read up to a bound (the form's text plus ``max_message_mb``),
parsed with the standard library's MIME parser, and every file is checked before anything is
written: at most ``[help] form_max_files`` files, each within ``max_file_mb`` and together
within ``max_message_mb``, a name cleaned of paths and control characters
(:func:`~supportdesk.store.file_names.sanitize_filename`), and bytes that are what the name
says — a ``.pdf`` that is an executable, or any executable or script at all, is refused.
Only when the whole request passes are the files written (by their SHA-256, so a file sent
twice is stored once) and named by the ``ticket.create`` that files the request; a file whose
request then fails is named by no message and leaves with the blob store's orphan sweep.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from email import policy
from email.parser import BytesParser
from typing import TYPE_CHECKING, Any

from supportdesk.store.file_names import sanitize_filename
from supportdesk.store.file_types import declared_for, mismatch, normalize, sniff

if TYPE_CHECKING:
    from fastapi import Request

    from supportdesk.server.blobs import ServerBlobs
    from supportdesk.store.blobs import AttachmentLimits

#: Parts a form post may have (its fields and its files): more is not our page.
MAX_PARTS = 40
OCTET = "application/octet-stream"


@dataclass(frozen=True)
class Upload:
    """One file of a post, as the browser sent it (the name already cleaned)."""

    filename: str
    declared: str
    data: bytes


def _text(value: str) -> str:
    """A header value the MIME parser read as ASCII with escapes: the browser sent UTF-8."""
    return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


async def read_multipart(request: Request, limit: int) -> tuple[dict[str, str], list[Upload]] | None:
    """The fields (first value each) and the files of a ``multipart/form-data`` post; None when
    it is larger than ``limit``, malformed or not multipart."""
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data") or len(content_type) > 300:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1", "replace")
    try:
        message = BytesParser(policy=policy.HTTP).parsebytes(head + bytes(body))
    except (ValueError, LookupError, TypeError):
        return None
    if not message.is_multipart() or message.defects:
        return None
    parts = list(message.iter_parts())
    if len(parts) > MAX_PARTS:
        return None
    fields: dict[str, str] = {}
    files: list[Upload] = []
    for part in parts:
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            return None
        data = part.get_payload(decode=True)
        data = data if isinstance(data, bytes) else b""
        raw_filename = part.get_param("filename", header="content-disposition")
        if raw_filename is None:
            fields.setdefault(_text(name), data.decode("utf-8", "replace"))
            continue
        filename = _text(str(raw_filename))
        if not filename and not data:
            continue  # the file input left empty
        files.append(Upload(sanitize_filename(filename), normalize(part.get_content_type()) or OCTET, data))
    return fields, files


def check(files: list[Upload], limits: AttachmentLimits, max_files: int, gettext: Callable[[str], str]) -> str | None:
    """One sentence saying why these files cannot be sent, or None."""
    _ = gettext
    if len(files) > max_files:
        return _("Attach at most %(max)d files.") % {"max": max_files}
    total = 0
    for upload in files:
        if not upload.data:
            return _("The file %(name)s is empty.") % {"name": upload.filename}
        if len(upload.data) > limits.max_file_bytes:
            return _("The file %(name)s is larger than %(mb)d MB.") % {
                "name": upload.filename,
                "mb": limits.max_file_bytes // (1024 * 1024),
            }
        total += len(upload.data)
        sniffed = sniff(upload.data[:8192], upload.declared, upload.filename)
        if mismatch(upload.declared, sniffed, upload.filename) or mismatch(None, sniffed):
            return _("The file %(name)s is not what its name says, or is a program; it cannot be sent.") % {
                "name": upload.filename
            }
    if total > limits.max_message_bytes:
        return _("The files are larger than %(mb)d MB together.") % {"mb": limits.max_message_bytes // (1024 * 1024)}
    return None


def store(blobs: ServerBlobs, files: list[Upload]) -> list[dict[str, Any]]:
    """Write checked files to the blob store; ``ticket.create``'s ``attachments``."""
    assert blobs.store is not None
    attachments = []
    for upload in files:
        stored = blobs.store.put_bytes(upload.data)
        sniffed = sniff(upload.data[:8192], upload.declared, upload.filename)
        declared = upload.declared if upload.declared != OCTET else (declared_for(upload.filename) or OCTET)
        attachments.append(
            {
                "sha256": stored.sha256,
                "filename": upload.filename,
                "size": stored.size,
                "content_type": declared,
                "sniffed_type": sniffed,
            }
        )
    return attachments
