"""A workspace's attachment files: the ones its agent attaches, and a cache of the ones fetched.

Both live in one :class:`~supportdesk.store.blobs.BlobStore` at ``<workspace>/attachments``
(the layout of the server's store). A file the agent attaches is copied in at once
(:func:`stage`), so a reply written offline names it by hash and the next sync uploads it
before it pushes the reply (:func:`supportdesk.sync.blob_transfer.upload_pending`). A file
another message names is fetched the first time it is opened (:func:`fetch`) and opens offline
from then on.

The cache has a size cap (``[attachments] cache_mb``, 1 GiB by default). Past it, the least
recently opened files go (a file's modification time is bumped each time it is opened), but
never one a change still waiting in the outbox names: those bytes exist nowhere else yet.
Erasure removes a customer's files here as on the server (:func:`supportdesk.domain.mutations.
privacy.finish_erase`).
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from supportdesk.store.blobs import (
    MIB,
    AttachmentLimits,
    BlobError,
    BlobStore,
    TooLarge,
    is_sha256,
    still_named,
    unsent,
)
from supportdesk.store.file_names import sanitize_filename
from supportdesk.store.file_types import HEAD_BYTES, declared_for, sniff

if TYPE_CHECKING:
    from supportdesk.store.workspace import Workspace
    from supportdesk.sync.client import ServerClient

DEFAULT_CACHE_BYTES = 1024 * MIB

log = logging.getLogger(__name__)


class AttachError(Exception):
    """A file cannot be attached or fetched; the message is one sentence for the agent."""


@dataclass(frozen=True)
class CacheUsage:
    bytes: int
    files: int
    cap: int


def store_of(workspace: Workspace) -> BlobStore:
    return BlobStore(workspace.attachments_dir)


def cache_cap(section: dict[str, Any]) -> int:
    """The cap in bytes from ``[attachments] cache_mb`` (a wrong value is a ConfigError)."""
    from supportdesk.store.blobs import setting

    return setting(section, "cache_mb", DEFAULT_CACHE_BYTES // MIB) * MIB


def stage(workspace: Workspace, paths: list[Path], limits: AttachmentLimits) -> list[dict[str, Any]]:
    """Copy local files into the workspace's store; returns the ``attachments`` of a mutation.

    Each file is checked against the per-file and per-message limits before anything is named;
    the name is cleaned (never a path), the declared type comes from the extension and the
    sniffed one from the bytes.
    """
    store = store_of(workspace)
    items: list[dict[str, Any]] = []
    total = 0
    for path in paths:
        if not path.is_file():
            raise AttachError(f"{path} is not a file")
        size = path.stat().st_size
        if size > limits.max_file_bytes:
            raise AttachError(f"{path.name} is {size:,} bytes; a file may be at most {limits.max_file_bytes:,}")
        total += size
        if total > limits.max_message_bytes:
            raise AttachError(f"the files of one message may be at most {limits.max_message_bytes:,} bytes together")
        try:
            stored = store.put_file(path, limit=limits.max_file_bytes)
        except (OSError, TooLarge) as error:
            raise AttachError(f"{path.name} cannot be read: {error}") from None
        name = sanitize_filename(path.name)
        declared = declared_for(name)
        items.append(
            {
                "sha256": stored.sha256,
                "filename": name,
                "size": stored.size,
                "content_type": declared,
                "sniffed_type": sniff(store.head(stored.sha256, HEAD_BYTES), declared, name),
            }
        )
    return items


def unstage(workspace: Workspace, items: list[dict[str, Any]]) -> int:
    """Remove staged files nothing here names (the change that would have named them was refused
    before it was written): not a row, a pending change, nor a draft that staged the same bytes
    (:func:`~supportdesk.store.blobs.still_named`). Returns how many went."""
    hashes = {item["sha256"] for item in items if is_sha256(item.get("sha256"))}
    if not hashes:
        return 0
    with workspace.reading() as connection:
        unused = hashes - still_named(connection, hashes)
    return store_of(workspace).remove(unused)


def forget_files(workspace: Workspace, hashes: set[str]) -> int:
    """After tickets left this store (hidden by a pull, or out of a new scope): remove the cached
    files of theirs that nothing here names any more — no attachment row, no change waiting in
    the outbox, no draft (:func:`~supportdesk.store.blobs.still_named`). Returns how many went.

    Why: the agent may no longer see those tickets, and an erasure of their customer finds a
    replica's files only through the rows it holds (``privacy.find_person``): a file left behind
    stayed on the agent's disk after the customer was erased."""
    if not hashes:
        return 0
    with workspace.reading() as connection:
        keep = still_named(connection, hashes)
    try:
        return store_of(workspace).remove(sorted(hashes - keep))
    except OSError as error:  # the round committed already: a file left is logged, not a failed round
        log.warning("cached files of tickets that left this store not removed: %s", error)
        return 0


def fetch(
    workspace: Workspace,
    sha256: str,
    *,
    cap: int = DEFAULT_CACHE_BYTES,
    client: Callable[[], ServerClient] | None = None,
) -> Path:
    """The local path of a file, fetched from the server the first time (``client`` opens one).

    Raises :class:`AttachError` when it is not here and cannot be fetched (a local workspace,
    or offline), and the sync errors of :mod:`supportdesk.sync.client` as they come.
    """
    store = store_of(workspace)
    if store.has(sha256):
        store.touch(sha256)
        return store.path(sha256)
    if client is None:
        raise AttachError("this file is not in the workspace and it follows no server to fetch it from")
    from supportdesk.sync.blob_transfer import download

    with client() as server:
        stored = download(server, store, sha256)
    evict(workspace, cap, keep={sha256})
    return stored.path


def evict(workspace: Workspace, cap: int, *, keep: set[str] = frozenset()) -> int:  # type: ignore[assignment]
    """Remove the least recently opened files until the cache fits ``cap``; returns how many went."""
    store = store_of(workspace)
    files = sorted(store.stored(), key=lambda found: found[2])
    total = sum(size for _, size, _ in files)
    if total <= cap:
        return 0
    with workspace.reading() as connection:  # staged in a draft or waiting in the outbox: not on the server yet
        protected = set(keep) | unsent(connection, {sha256 for sha256, _, _ in files})
    going: list[str] = []
    for sha256, size, _ in files:
        if total <= cap:
            break
        if sha256 in protected:
            continue
        going.append(sha256)
        total -= size
    return store.remove(going)


def usage(workspace: Workspace, cap: int = DEFAULT_CACHE_BYTES) -> CacheUsage:
    size, count = store_of(workspace).usage()
    return CacheUsage(size, count, cap)


def save_copy(source: Path, folder: Path, name: str) -> Path:
    """Copy a file to ``folder`` under its cleaned name, never over an existing file."""
    if not folder.is_dir():
        raise AttachError(f"{folder} is not a folder")
    clean = sanitize_filename(name)
    stem, dot, extension = clean.rpartition(".")
    if not dot:
        stem, extension = clean, ""
    target = folder / clean
    number = 1
    while True:
        try:
            with source.open("rb") as reader, target.open("xb") as writer:
                shutil.copyfileobj(reader, writer)
            return target
        except FileExistsError:
            number += 1
            target = folder / (f"{stem} ({number}).{extension}" if extension else f"{stem} ({number})")
        except OSError as error:
            raise AttachError(f"cannot write {target}: {error.strerror or error}") from None


def ticket_attachments(connection: sqlite3.Connection, ticket_id: str) -> list[dict[str, Any]]:
    """The files a ticket's messages name, oldest first, with who sent them and whether they're cached."""
    rows = connection.execute(
        "SELECT x.sha256, x.filename, x.size, x.content_type, x.sniffed_type, x.message_id, m.created_at, "
        "m.author_kind, m.public FROM attachment x JOIN message m ON m.id = x.message_id "
        "WHERE m.ticket_id = ? ORDER BY m.created_at, x.id",
        (ticket_id,),
    ).fetchall()
    keys = (
        "sha256",
        "filename",
        "size",
        "content_type",
        "sniffed_type",
        "message_id",
        "created_at",
        "author",
        "public",
    )
    return [dict(zip(keys, row, strict=True)) for row in rows]


__all__ = [
    "AttachError",
    "BlobError",
    "CacheUsage",
    "cache_cap",
    "evict",
    "fetch",
    "save_copy",
    "stage",
    "ticket_attachments",
    "unstage",
    "usage",
]
