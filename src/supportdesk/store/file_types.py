"""What a file is, by its bytes — beside what its sender declared it to be.

A customer's mail says ``invoice.pdf, application/pdf``; the bytes may be a Windows program.
Both are recorded (``content_type`` is the declared type, ``sniffed_type`` what the first bytes
show) and :func:`mismatch` says when they disagree — the console and the CLI flag it. What a
viewer may be handed is decided by the sniffed type only (:func:`viewer_for`), never by the name
or the declared type: images, PDF and text open; everything else (programs, scripts, archives,
office documents with macros, unknown bytes) can only be saved. Nothing here expands an archive
or runs anything.

Sniffing reads at most the first 8 KiB and compares it with a table of signatures of our own
(images, PDF, the archive and office containers, programs and scripts); bytes that match none
and read as UTF-8 text are text. The table is short on purpose: what it does not know is
recorded as unknown, which only ever means "save it, don't open it".
"""

from __future__ import annotations

import mimetypes
from typing import Literal

HEAD_BYTES = 8192
OCTET = "application/octet-stream"

Viewer = Literal["image", "pdf", "text"]

#: Signatures at the start of a file (the first match wins; longer ones first where they overlap).
_OURS: tuple[tuple[bytes, str], ...] = (
    (b"MZ", "application/x-msdownload"),
    (b"\x7fELF", "application/x-executable"),
    (b"\xcf\xfa\xed\xfe", "application/x-mach-binary"),
    (b"\xce\xfa\xed\xfe", "application/x-mach-binary"),
    (b"\xca\xfe\xba\xbe", "application/x-mach-binary"),
    (b"#!", "text/x-shellscript"),
    (b"L\x00\x00\x00\x01\x14\x02\x00", "application/x-ms-shortcut"),
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"BM", "image/bmp"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
    (b"\x00\x00\x01\x00", "image/vnd.microsoft.icon"),
    (b"PK\x03\x04", "application/zip"),
    (b"PK\x05\x06", "application/zip"),
    (b"\x1f\x8b", "application/gzip"),
    (b"7z\xbc\xaf\x27\x1c", "application/x-7z-compressed"),
    (b"Rar!\x1a\x07", "application/vnd.rar"),
    (b"BZh", "application/x-bzip2"),
    (b"\xfd7zXZ\x00", "application/x-xz"),
    (b"(\xb5/\xfd", "application/zstd"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "application/x-ole-storage"),
    (b"OggS", "audio/ogg"),
    (b"ID3", "audio/mpeg"),
    (b"fLaC", "audio/flac"),
    (b"\x1aE\xdf\xa3", "video/webm"),
    (b"SQLite format 3\x00", "application/vnd.sqlite3"),
    (b"{\\rtf", "application/rtf"),
)

#: Declared types a container signature may stand for (a .docx is a ZIP file, a .doc an OLE one).
_CONTAINERS: dict[str, frozenset[str]] = {
    "application/zip": frozenset(
        {
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            "application/vnd.oasis.opendocument.text",
            "application/vnd.oasis.opendocument.spreadsheet",
            "application/epub+zip",
            "application/java-archive",
        }
    ),
    "application/x-ole-storage": frozenset(
        {"application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint", "application/x-msi"}
    ),
}

#: Names of one type (the first is the one we record).
_ALIASES: dict[str, str] = {
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "application/x-gzip": "application/gzip",
    "application/x-zip-compressed": "application/zip",
    "application/x-rar-compressed": "application/vnd.rar",
    "application/x-rar": "application/vnd.rar",
    "application/x-pdf": "application/pdf",
    "text/xml": "application/xml",
    "application/x-sh": "text/x-shellscript",
    "application/x-dosexec": "application/x-msdownload",
    "application/vnd.microsoft.portable-executable": "application/x-msdownload",
    "application/x-msdos-program": "application/x-msdownload",
    "application/x-ms-dos-executable": "application/x-msdownload",
}
#: Declared types that are text, however they are spelled.
_TEXTUAL = frozenset({"application/json", "application/xml", "application/csv", "application/x-ndjson"})
#: Types a viewer may be handed (by the sniffed type); SVG and HTML are text to us (they can script).
_IMAGES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp", "image/tiff"})


def normalize(content_type: str | None) -> str:
    """A MIME type in lower case without parameters, aliases folded (``""`` when there is none)."""
    if not content_type:
        return ""
    base = content_type.split(";", 1)[0].strip().lower()
    return _ALIASES.get(base, base)


def declared_for(name: str) -> str:
    """The type a file's extension declares (what we declare for a file an agent attaches)."""
    guessed, encoding = mimetypes.guess_type(name, strict=False)
    if encoding:  # logs.tar.gz is a gzip file, whatever it holds
        return _ENCODINGS.get(encoding, OCTET)
    return normalize(guessed) or OCTET


_ENCODINGS = {"gzip": "application/gzip", "bzip2": "application/x-bzip2", "xz": "application/x-xz"}


def _is_text(head: bytes) -> bool:
    if not head or b"\x00" in head:
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.start < len(head) - 4:  # only a character cut at the end of the sample is forgiven
            return False
        text = head[: error.start].decode("utf-8")
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\n\r\f")
    return controls <= len(text) // 100


def sniff(head: bytes, declared: str | None = None, name: str | None = None) -> str | None:
    """The type the bytes show (None: nothing recognisable).

    Where the signature fits several types (a ZIP container is a .docx, a .xlsx, a .zip …), the
    declared type or the name's extension is taken when it is one of them.
    """
    head = head[:HEAD_BYTES]
    wanted = {normalize(declared), declared_for(name) if name else ""} - {"", OCTET}
    candidates = _signature(head)
    if candidates:
        for kind in candidates:
            if kind in wanted:
                return kind
        return candidates[0]
    if _is_text(head):
        textual = [kind for kind in wanted if kind.startswith("text/") or kind in _TEXTUAL]
        return textual[0] if textual and not textual[0].startswith("text/x-") else "text/plain"
    return None


def _signature(head: bytes) -> list[str]:
    """The types the first bytes show: one, or a container and what it may stand for."""
    if head[:4] == b"RIFF" and head[8:12] in (b"WEBP", b"WAVE", b"AVI "):
        return [{b"WEBP": "image/webp", b"WAVE": "audio/wav", b"AVI ": "video/x-msvideo"}[head[8:12]]]
    if head[4:8] == b"ftyp":
        return ["image/heic" if head[8:12] in (b"heic", b"heix", b"mif1") else "video/mp4"]
    for magic, kind in _OURS:
        if head.startswith(magic):
            return [kind, *sorted(_CONTAINERS.get(kind, ()))]
    return []


def _compatible(declared: str, sniffed: str) -> bool:
    if declared == sniffed:
        return True
    textual = sniffed.startswith("text/") or sniffed in _TEXTUAL
    return textual and sniffed != "text/x-shellscript" and (declared.startswith("text/") or declared in _TEXTUAL)


def mismatch(declared: str | None, sniffed: str | None, name: str | None = None) -> str | None:
    """A short sentence when the declared type or the name's extension disagrees with the bytes."""
    if not sniffed:
        return None
    sniffed = normalize(sniffed)
    for what, claimed in (("declared", normalize(declared)), ("named", declared_for(name) if name else "")):
        if claimed and claimed != OCTET and not _compatible(claimed, sniffed):
            return f"{what} {claimed}, but the bytes are {sniffed}"
    if sniffed in _RISKY and not (name and declared_for(name) == sniffed):
        return f"the bytes are {sniffed}"
    return None


_RISKY = frozenset(
    {
        "application/x-msdownload",
        "application/x-executable",
        "application/x-mach-binary",
        "text/x-shellscript",
        "application/x-ms-shortcut",
        "application/x-msi",
        "application/java-archive",
    }
)


def viewer_for(sniffed: str | None) -> Viewer | None:
    """Which viewer may open a file of this sniffed type (None: save it, never open it)."""
    kind = normalize(sniffed)
    if kind in _IMAGES:
        return "image"
    if kind == "application/pdf":
        return "pdf"
    if kind in _RISKY:
        return None
    if kind.startswith("text/") or kind in _TEXTUAL or kind in ("image/svg+xml", "message/rfc822"):
        return "text"
    return None


def extension_for(sniffed: str | None) -> str:
    """The extension a viewer's copy gets: from the sniffed type, never from the sender's name."""
    viewer = viewer_for(sniffed)
    if viewer == "text":
        return ".txt"
    if viewer is None:
        return ""
    return {"image/jpeg": ".jpg", "image/tiff": ".tif"}.get(normalize(sniffed)) or (
        mimetypes.guess_extension(normalize(sniffed), strict=False) or ""
    )
