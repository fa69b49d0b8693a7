"""Attachment bytes by SHA-256: one store for the team server and one per workspace.

The layout is the same everywhere, so one folder can be a shared volume that several server
hosts mount at once::

    <root>/<aa>/<sha256>            a file, named by the hash of its bytes (aa: the first two digits)
    <root>/uploads/<sha256>.<who>   an upload still arriving (one per uploader; resumable)
    <root>/opened/<sha256>/<name>   a copy a viewer was given (workspaces only; goes with the file)

No part of a path comes from a name a customer or an agent gave: a file is found by its hash,
and a hash is only accepted as 64 lower-case hex digits. The same bytes are stored once however
many messages name them. Files are written to a temporary file beside their final place and
renamed into it, so a reader never sees half a file — on one host or, on a shared volume, on
several (two hosts storing the same hash write the same bytes; the rename is atomic). Erasing
goes through :func:`supportdesk.store.files.remove_files` (overwritten, then unlinked).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, TypeGuard

import orjson

from supportdesk.store.files import path_for, remove_files

if TYPE_CHECKING:
    import sqlite3

SHA256 = re.compile(r"^[0-9a-f]{64}$")
CHUNK = 256 * 1024
UPLOADS = "uploads"
OPENED = "opened"


class BlobError(Exception):
    """A blob cannot be stored as asked; the message is one sentence."""


class HashMismatch(BlobError):
    """The bytes do not hash to the name they were sent under."""


class TooLarge(BlobError):
    """More bytes than the limit allows."""


class UploadBusy(BlobError):
    """Another request of the same uploader is writing the same upload right now."""


def is_sha256(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and SHA256.match(value) is not None


def named_hashes(args: Any) -> list[str]:
    """The hashes a mutation's arguments name (JSON text or a dict). Stored bytes that are not
    UTF-8 (a disk's damage) are decoded with replacement first, so they parse or name nothing,
    never raise: callers read JSON columns as bytes for that (the driver refuses such text)."""
    if isinstance(args, bytes):
        args = args.decode("utf-8", "replace")
    if isinstance(args, str):
        try:
            args = orjson.loads(args)
        except orjson.JSONDecodeError:
            return []
    items = args.get("attachments") if isinstance(args, dict) else None
    if not isinstance(items, list):
        return []
    return [item["sha256"] for item in items if isinstance(item, dict) and is_sha256(item.get("sha256"))]


#: Hashes per ``IN (…)`` list (SQLite's limit on bound values is far above it).
_CHUNK = 500
# read as bytes: a value that is not UTF-8 (a disk's damage) would make the driver raise on the column
_PENDING = (
    "SELECT CAST(args AS BLOB) FROM outbox WHERE id > (SELECT coalesce(max(last_acked_mutation_id), 0) FROM sync_state)"
)
_DRAFTS = "SELECT CAST(state AS BLOB) FROM draft"


def still_named(connection: sqlite3.Connection, candidates: Iterable[str]) -> set[str]:
    """Those of ``candidates`` that something in this workspace's store still names, so their
        files must stay: an attachment row (its ``sha256``), a composer draft (a file staged in its
        ``state``'s ``attachments``) or a change still waiting in the outbox (its ``args``'
        ``attachments``, past the last one the server acknowledged).

        "Names" is :func:`named_hashes` on the parsed JSON, for a draft as for a change: the words of
        a draft (a refusal's reason, a file's name, a macro's summary) may hold a hash — a customer
        picks a file's name — and a substring match let such a draft keep another person's file on
        disk after that person's erasure. Malformed JSON names nothing and raises nothing, nor do bytes
    that are not UTF-8 (read as bytes, decoded with replacement).

        It asks only about the candidates (none, no statement), the attachment rows first, and reads
        the drafts and the pending changes only while a candidate is left unnamed: at most one
        statement per 500 candidates plus two.

        Why a plain ``sqlite3`` connection: drafts and the outbox live in a workspace only (the server
        keeps neither). The sync layer asks after its round committed, on a read-only connection
        (the workspace's SQLAlchemy engine would take the write lock, ``BEGIN IMMEDIATE``, for three
        reads); an erasure asks inside its own write transaction, after deleting the drafts it
        erases, and passes the sqlite3 connection under its SQLAlchemy one, which is that same
        transaction. JSON columns come back as text, so a malformed one reaches the parser that
        tolerates it, not SQLAlchemy's, which raises.
    """
    left = {sha256 for sha256 in candidates if is_sha256(sha256)}
    named: set[str] = set()
    wanted = sorted(left)
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        marks = ", ".join("?" * len(chunk))
        rows = connection.execute(f"SELECT DISTINCT sha256 FROM attachment WHERE sha256 IN ({marks})", chunk)
        named.update(row[0] for row in rows)
    return named | unsent(connection, left - named)


def unsent(connection: sqlite3.Connection, candidates: Iterable[str]) -> set[str]:
    """Those of ``candidates`` that exist only on this disk for now: staged in a composer draft
    or named by a change the server has not acknowledged (parsed JSON, as :func:`still_named`).

    The cache cap may evict a file the server has (an attachment row names it: it can be fetched
    again), never one of these: the agent's attachment would be lost before it was sent."""
    left = {sha256 for sha256 in candidates if is_sha256(sha256)}
    named: set[str] = set()
    for statement in (_DRAFTS, _PENDING):
        if not left:
            break
        for (value,) in connection.execute(statement):
            found = left.intersection(named_hashes(value)) if value else set()
            named |= found
            left -= found
    return named


@dataclass(frozen=True)
class StoredBlob:
    sha256: str
    size: int
    path: Path


class Upload:
    """One request's share of a resumable upload: write chunks, then close (the bytes stay)."""

    def __init__(self, file: BinaryIO, held: int, cap: int) -> None:
        self._file = file
        self.held = held
        self.cap = cap

    def write(self, chunk: bytes) -> None:
        if self.held + len(chunk) > self.cap:
            self._file.truncate(0)
            self.held = 0
            raise TooLarge(f"the file is larger than {self.cap:,} bytes")
        self._file.write(chunk)
        self.held += len(chunk)

    def close(self) -> int:
        """Flush what arrived and release the upload; returns the bytes held."""
        if not self._file.closed:
            self._file.flush()
            self._file.close()
        return self.held

    def __enter__(self) -> Upload:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


class BlobStore:
    """The files under one root (see the module docstring for the layout)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def __repr__(self) -> str:
        return f"BlobStore({str(self.root)!r})"

    # --- reading --------------------------------------------------------------------------------

    def path(self, sha256: str) -> Path:
        """Where the file with this hash lives; a value that is not a hash is refused."""
        if not is_sha256(sha256):
            raise BlobError("a blob is named by 64 lower-case hex digits")
        return path_for(self.root, sha256)

    def has(self, sha256: str) -> bool:
        if not is_sha256(sha256):
            return False
        path = path_for(self.root, sha256)
        return path.is_file() and not path.is_symlink()

    def size(self, sha256: str) -> int | None:
        return self.path(sha256).stat().st_size if self.has(sha256) else None

    def head(self, sha256: str, length: int = 8192) -> bytes:
        """The first bytes of a stored file (what type sniffing reads)."""
        with self.path(sha256).open("rb") as file:
            return file.read(length)

    def read(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()

    def usage(self) -> tuple[int, int]:
        """Bytes and files stored (uploads in progress and viewer copies not counted)."""
        sizes = [size for _, size, _ in self.stored()]
        return sum(sizes), len(sizes)

    def stored(self) -> Iterator[tuple[str, int, float]]:
        """``(sha256, size, mtime)`` of every stored file."""
        if not self.root.is_dir():
            return
        for folder in self.root.iterdir():
            if len(folder.name) != 2 or not folder.is_dir():
                continue
            for entry in os.scandir(folder):
                if is_sha256(entry.name) and entry.is_file(follow_symlinks=False):
                    found = entry.stat(follow_symlinks=False)
                    yield entry.name, found.st_size, found.st_mtime

    # --- writing --------------------------------------------------------------------------------

    def put_bytes(self, data: bytes) -> StoredBlob:
        """Store ``data`` under its hash (a file already there is kept as it is)."""
        return self.put_stream([data])

    def put_file(self, source: Path, *, limit: int | None = None) -> StoredBlob:
        """Store a copy of a local file, read once (hashed while copied)."""
        with source.open("rb") as file:
            return self.put_stream(iter(lambda: file.read(CHUNK), b""), limit=limit)

    def put_stream(
        self, chunks: Iterable[bytes], *, expected: str | None = None, limit: int | None = None
    ) -> StoredBlob:
        """Store what ``chunks`` yield; refuse it when it does not hash to ``expected`` or passes ``limit``."""
        if expected is not None and not is_sha256(expected):
            raise BlobError("a blob is named by 64 lower-case hex digits")
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        handle, temporary = tempfile.mkstemp(dir=self.root, prefix=".incoming-")
        try:
            with os.fdopen(handle, "wb") as file:
                for chunk in chunks:
                    size += len(chunk)
                    if limit is not None and size > limit:
                        raise TooLarge(f"the file is larger than {limit:,} bytes")
                    digest.update(chunk)
                    file.write(chunk)
            sha256 = digest.hexdigest()
            if expected is not None and sha256 != expected:
                raise HashMismatch(f"the bytes hash to {sha256}, not {expected}")
            return self._place(Path(temporary), sha256, size)
        finally:
            Path(temporary).unlink(missing_ok=True)

    def _place(self, temporary: Path, sha256: str, size: int) -> StoredBlob:
        """Rename a complete temporary file into its place (or keep the one already there)."""
        target = path_for(self.root, sha256)
        if not self.has(sha256):
            target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            temporary.chmod(0o600)
            temporary.replace(target)
        return StoredBlob(sha256=sha256, size=size, path=target)

    def touch(self, sha256: str) -> None:
        """Mark a file as just used (a workspace's cache evicts the least recently used)."""
        with contextlib.suppress(OSError):
            os.utime(self.path(sha256))

    def remove(self, hashes: Iterable[str]) -> int:
        """Overwrite and delete these files and the viewer copies made of them."""
        return remove_files(self.root, hashes)

    # --- resumable uploads ------------------------------------------------------------------------

    def _upload_path(self, sha256: str, uploader: str) -> Path:
        who = hashlib.sha256(uploader.encode()).hexdigest()[:16]
        return self.root / UPLOADS / f"{self.path(sha256).name}.{who}"

    def upload_offset(self, sha256: str, uploader: str) -> int:
        """How many bytes of this uploader's upload of ``sha256`` have arrived so far."""
        path = self._upload_path(sha256, uploader)
        try:
            return path.stat().st_size
        except FileNotFoundError:
            return 0

    def open_upload(self, sha256: str, uploader: str, offset: int, *, total: int | None, limit: int) -> Upload:
        """Continue this uploader's upload of ``sha256`` at ``offset`` (0 starts again).

        ``offset`` must be what :meth:`upload_offset` says. Every chunk written is kept as it
        comes, so a connection cut in the middle keeps what arrived and the uploader resumes from
        there. Raises :class:`UploadBusy` while another request writes the same upload.
        """
        path = self._upload_path(sha256, uploader)
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        file = os.fdopen(fd, "r+b")
        try:
            import fcntl

            try:
                fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise UploadBusy("this upload is already being written by another request") from None
            held = os.fstat(file.fileno()).st_size
            if offset == 0:
                file.truncate(0)
                held = 0
            elif offset != held:
                raise BlobError(f"the upload holds {held} bytes, not {offset}")
            file.seek(held)
        except BaseException:
            file.close()
            raise
        return Upload(file, held, min(limit, total) if total is not None else limit)

    def complete_upload(self, sha256: str, uploader: str) -> StoredBlob:
        """Check an arrived upload's hash and move it into place; a mismatch discards it."""
        path = self._upload_path(sha256, uploader)
        digest = hashlib.sha256()
        size = 0
        with path.open("rb") as file:
            for chunk in iter(lambda: file.read(CHUNK), b""):
                digest.update(chunk)
                size += len(chunk)
        if digest.hexdigest() != sha256:
            self.discard_upload(sha256, uploader)
            raise HashMismatch(f"the bytes hash to {digest.hexdigest()}, not {sha256}")
        try:
            return self._place(path, sha256, size)
        finally:
            path.unlink(missing_ok=True)

    def discard_upload(self, sha256: str, uploader: str) -> None:
        self._upload_path(sha256, uploader).unlink(missing_ok=True)

    def stale_uploads(self, older_than: float) -> list[Path]:
        """Uploads nobody wrote to since ``older_than`` (a Unix time; for a sweep)."""
        folder = self.root / UPLOADS
        if not folder.is_dir():
            return []
        return [path for path in folder.iterdir() if path.is_file() and path.stat().st_mtime < older_than]


MIB = 1024 * 1024
#: The keys of the ``[attachments]`` table (a typo is an error naming it).
SETTINGS_KEYS = frozenset({"dir", "max_file_mb", "max_message_mb", "max_per_ticket", "orphan_days", "cache_mb"})


@dataclass(frozen=True)
class AttachmentLimits:
    """Per file, per message and per ticket: the server enforces them on every way in (an agent's
    upload and push, inbound mail, webhooks); a workspace checks them early, before it stages."""

    max_file_bytes: int = 15 * MIB
    max_message_bytes: int = 25 * MIB
    max_per_ticket: int = 200

    @classmethod
    def from_section(cls, section: dict[str, Any]) -> AttachmentLimits:
        """From ``[attachments]`` (``max_file_mb``, ``max_message_mb``, ``max_per_ticket``)."""
        check_keys(section)
        file_mb = _whole(section, "max_file_mb", cls.max_file_bytes // MIB)
        message_mb = _whole(section, "max_message_mb", cls.max_message_bytes // MIB)
        per_ticket = _whole(section, "max_per_ticket", cls.max_per_ticket)
        if message_mb < file_mb:
            from supportdesk.config import ConfigError

            raise ConfigError("[attachments] max_message_mb must be at least max_file_mb")
        return cls(file_mb * MIB, message_mb * MIB, per_ticket)

    def as_dict(self) -> dict[str, int]:
        return {
            "max_file_bytes": self.max_file_bytes,
            "max_message_bytes": self.max_message_bytes,
            "max_per_ticket": self.max_per_ticket,
        }


def check_keys(section: dict[str, Any]) -> None:
    from supportdesk.config import ConfigError

    unknown = sorted(set(section) - SETTINGS_KEYS)
    if unknown:
        raise ConfigError(
            f"[attachments] has no setting {unknown[0]!r}; the settings are {', '.join(sorted(SETTINGS_KEYS))}"
        )


def _whole(section: dict[str, Any], key: str, default: int) -> int:
    from supportdesk.config import ConfigError

    value = section.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"[attachments] {key} must be a whole number above 0")
    return value


def setting(section: dict[str, Any], key: str, default: int) -> int:
    """A whole-number setting of ``[attachments]`` (``orphan_days``, ``cache_mb``), checked."""
    check_keys(section)
    return _whole(section, key, default)
