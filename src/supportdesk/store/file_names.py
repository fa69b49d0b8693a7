"""The name a file is shown and saved under: only ever metadata, cleaned once.

A customer's attachment name (``../../.bashrc``, ``CON``, a name full of escape sequences or
bidi overrides) and the name of a file an agent attaches are both cleaned here before they are
stored: no directories, no control, format or reserved characters, no Windows device names
(``CON``, ``LPT1`` …), no leading dots, at most 200 characters with the extension kept. No path
is ever made from a stored name without going through :func:`sanitize_filename` again.
"""

from __future__ import annotations

import re
import unicodedata

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
