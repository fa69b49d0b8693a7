"""Attachment bytes stored by content hash; the name a customer gave is only ever metadata.

A file lives at ``<attachments>/<aa>/<sha256>``: no part of its path comes from the mail, so a
name like ``../../.bashrc`` cannot write anywhere, and the same file sent twice is stored once.
The name we keep for display is cleaned: no directories, no control or reserved characters, no
Windows device names (``CON``, ``LPT1`` …), no leading dots, at most 200 characters with the
extension kept.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from supportdesk.store.files import path_for

MAX_NAME_CHARS = 200
_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³]|conin\$|conout\$)$", re.IGNORECASE)
_BAD_CHARS = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f-\x9f]')


def sanitize_filename(name: str | None, *, fallback: str = "attachment") -> str:
    """A display name that is safe on every file system and in every terminal."""
    text = unicodedata.normalize("NFC", name or "")
    text = re.split(r"[/\\]", text)[-1]
    text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf", "Zl", "Zp"))
    text = _BAD_CHARS.sub("_", text)
    text = re.sub(r"\s+", " ", text).strip().lstrip(".").rstrip(". ")
    if not text:
        return fallback
    stem, dot, extension = text.rpartition(".")
    if not dot:
        stem, extension = text, ""
    if _RESERVED.match(stem.strip() if stem else text):
        text = "_" + text
        stem = "_" + stem if dot else text
    if len(text) > MAX_NAME_CHARS:
        extension = extension[:20] if dot else ""
        keep = MAX_NAME_CHARS - (len(extension) + 1 if extension else 0) - 1
        text = stem[:keep].rstrip(". ") + "…" + (f".{extension}" if extension else "")
    return text


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    size: int
    path: Path


def store_bytes(root: Path, data: bytes) -> StoredFile:
    """Write ``data`` under its hash (atomically; a file already there is kept as it is)."""
    digest = hashlib.sha256(data).hexdigest()
    target = path_for(root, digest)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(data)
            Path(temporary).replace(target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    return StoredFile(sha256=digest, size=len(data), path=target)
