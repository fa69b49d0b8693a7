"""Attachment bytes from the channels, stored by content hash in the one blob store.

Inbound mail and webhook attachments go to the same store as the files agents upload
(:mod:`supportdesk.store.blobs`): a file lives at ``<attachments>/<aa>/<sha256>``, no part of its
path comes from the sender, and the same file sent twice is stored once. The name kept for
display is cleaned by :func:`sanitize_filename`.
"""

from __future__ import annotations

from pathlib import Path

from supportdesk.store.blobs import BlobStore, StoredBlob
from supportdesk.store.file_names import MAX_NAME_CHARS, sanitize_filename
from supportdesk.store.files import path_for

StoredFile = StoredBlob

__all__ = ["MAX_NAME_CHARS", "StoredFile", "path_for", "sanitize_filename", "store_bytes"]


def store_bytes(root: Path, data: bytes) -> StoredBlob:
    """Write ``data`` under its hash (atomically; a file already there is kept as it is)."""
    return BlobStore(root).put_bytes(data)
