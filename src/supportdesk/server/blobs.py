"""Attachments on the team server: the blob store, who may name and fetch a file, its limits.

The settings are the ``[attachments]`` table of the config file::

    [attachments]
    dir = "/srv/supportdesk/attachments"   # the blob store (a shared volume for several hosts)
    max_file_mb = 15                       # per file
    max_message_mb = 25                    # all files of one message together
    max_per_ticket = 200                   # files on one ticket
    orphan_days = 7                        # an upload no message names is removed after this

Without ``dir`` a SQLite server keeps its files beside the database (``server.db`` →
``server-attachments/``), as the channels always did (``[channels] attachments_dir`` is still
read, and must then be the same folder); a PostgreSQL server needs ``dir`` (every process must
reach the same folder) and refuses attachments until it has one.

:func:`supportdesk.server.routes.blobs.install` plugs it into an app: the routers, the check
every pushed mutation's attachments pass (:meth:`ServerBlobs.check_pushed`), the clean-up after
an erasure and a worker that removes abandoned uploads and files no message names.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import text

from supportdesk.config import ConfigError
from supportdesk.domain.errors import ValidationFailed
from supportdesk.domain.mutations.privacy import ERASE
from supportdesk.store.blobs import AttachmentLimits, BlobStore, is_sha256, setting
from supportdesk.store.times import utcnow

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from supportdesk.domain.context import Actor
    from supportdesk.server.apply import Applied
    from supportdesk.server.db import ServerDatabase
    from supportdesk.server.state import ServerState

log = logging.getLogger(__name__)

#: Mutations an agent may push with attachments (the channels' own write as the system).
ATTACHING = frozenset({"ticket.create", "ticket.reply", "ticket.note"})
UPLOAD_PREFIX = "/v1/blobs/"
SWEEP_SECONDS = 3600.0
STALE_UPLOAD = timedelta(days=1)


@dataclass(frozen=True)
class BlobOptions:
    """What ``serve`` reads from ``[attachments]`` (and ``[channels] attachments_dir``)."""

    root: Path | None
    limits: AttachmentLimits = field(default_factory=AttachmentLimits)
    orphan_days: int = 7


def blob_options(section: dict[str, Any], *, channels: dict[str, Any] | None = None, db: str | None) -> BlobOptions:
    """The blob store's folder and limits; a wrong value is a one-line :class:`ConfigError`."""
    limits = AttachmentLimits.from_section(section)
    configured = section.get("dir")
    legacy = (channels or {}).get("attachments_dir")
    for key, value in (("[attachments] dir", configured), ("[channels] attachments_dir", legacy)):
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise ConfigError(f"{key} must be a folder path")
    root: Path | None = Path(configured).expanduser() if configured else None
    if legacy:
        if root is not None and root != Path(legacy).expanduser():
            raise ConfigError("[attachments] dir and [channels] attachments_dir name different folders: keep one")
        root = Path(legacy).expanduser()
    if root is None:
        root = default_root(db)
    return BlobOptions(
        root=root,
        limits=limits,
        orphan_days=setting(section, "orphan_days", 7),
    )


def default_root(db: str | None) -> Path | None:
    """A folder beside a SQLite database; None for PostgreSQL (it must be configured)."""
    from supportdesk.server.db import normalize_url

    url = normalize_url(db)
    if url.startswith("sqlite:///") and not url.endswith(":memory:"):
        database = Path(url.removeprefix("sqlite:///"))
        return database.parent / f"{database.stem}-attachments"
    return None


NOT_KEPT = (
    "this server keeps no attachments: a PostgreSQL server needs [attachments] dir (a folder every process reaches)"
)


class ServerBlobs:
    """The blob store of one server app, its checks and its clean-up."""

    def __init__(self, options: BlobOptions) -> None:
        self.options = options
        self.store = BlobStore(options.root) if options.root is not None else None

    @property
    def limits(self) -> AttachmentLimits:
        return self.options.limits

    # --- who may use a file -------------------------------------------------------------------------

    def visible(self, connection: Connection, actor: Actor, sha256: str) -> bool:
        """Whether ``actor`` may see a ticket that names this file (the download rule)."""
        from supportdesk.server.visibility import ticket_condition

        condition, params = ticket_condition(actor)
        found = connection.execute(
            text(
                "SELECT 1 FROM attachment x JOIN message m ON m.id = x.message_id JOIN ticket t ON t.id = m.ticket_id "
                f"WHERE x.sha256 = :sha AND {condition} LIMIT 1"
            ),
            {**params, "sha": sha256},
        ).first()
        return found is not None

    def holds(self, connection: Connection, actor: Actor, sha256: str) -> bool:
        """Whether ``actor`` uploaded this file (proved they hold its bytes)."""
        if actor.id is None:
            return True
        found = connection.execute(
            text("SELECT 1 FROM blob_holder WHERE sha256 = :sha AND agent_id = :agent"),
            {"sha": sha256, "agent": actor.id},
        ).first()
        return found is not None

    def record_holder(self, database: ServerDatabase, actor: Actor, sha256: str) -> None:
        if actor.id is None:
            return
        with database.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO blob_holder (sha256, agent_id, created_at) VALUES (:sha, :agent, :now) "
                    "ON CONFLICT (sha256, agent_id) DO NOTHING"
                ),
                {"sha": sha256, "agent": actor.id, "now": utcnow()},
            )

    # --- the check of pushed mutations --------------------------------------------------------------

    def check_pushed(self, connection: Connection, actor: Actor, name: str, args: dict[str, Any]) -> dict[str, Any]:
        """Every file a pushed reply, note or ticket names must be on the server, uploaded by this
        agent or already visible to them, and within the limits; its size and sniffed type are
        then the server's, whatever the client said."""
        from supportdesk.store.file_types import sniff

        items = args.get("attachments")
        if not items or not isinstance(items, list):
            return args
        if name not in ATTACHING:
            return args
        if self.store is None:
            raise ValidationFailed(NOT_KEPT, field="attachments")
        checked: list[Any] = []
        total = 0
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                checked.append(item)  # the mutation's own validation names it
                continue
            sha256 = item.get("sha256")
            shown = str(item.get("filename") or sha256)[:80]
            if (
                not is_sha256(sha256)
                or not self.store.has(sha256)
                or not (self.holds(connection, actor, sha256) or self.visible(connection, actor, sha256))
            ):
                raise ValidationFailed(
                    f"the file {shown!r} was not uploaded before this change: sync again from the workspace that "
                    "attached it",
                    field=f"attachments.{index}",
                )
            size = self.store.size(sha256) or 0
            if size > self.limits.max_file_bytes:
                raise ValidationFailed(
                    f"the file {shown!r} is larger than {self.limits.max_file_bytes:,} bytes",
                    field=f"attachments.{index}",
                )
            total += size
            sniffed = sniff(self.store.head(sha256), item.get("content_type"), item.get("filename"))
            checked.append({**item, "size": size, "sniffed_type": sniffed})
        if total > self.limits.max_message_bytes:
            raise ValidationFailed(
                f"the files of one message may be {self.limits.max_message_bytes:,} bytes together, these are "
                f"{total:,}",
                field="attachments",
            )
        ticket_id = args.get("ticket_id")
        if isinstance(ticket_id, str):
            held = count_on_ticket(connection, ticket_id)
            if held + len(items) > self.limits.max_per_ticket:
                raise ValidationFailed(
                    f"a ticket may hold {self.limits.max_per_ticket} files; this one has {held}",
                    field="attachments",
                )
        return {**args, "attachments": checked}

    # --- clean-up ---------------------------------------------------------------------------------

    def after_commit(self, database: ServerDatabase, applied: Applied) -> None:
        """After an erasure: remove the files no row names any more, and who uploaded them."""
        if applied.name != ERASE or self.store is None:
            return
        from supportdesk.server.erasure import remove_unused_files

        hashes = [h for h in applied.result.get("files", []) if is_sha256(h)]
        try:
            remove_unused_files(database, self.store.root, hashes)
            forget_holders(database, hashes)
        except Exception:
            log.exception("removing the files of an erasure failed")

    def sweep(self, database: ServerDatabase) -> tuple[int, int]:
        """Remove uploads nobody finished within a day, and files no message names that are older
        than ``orphan_days`` (an agent attached and then never sent them); returns both counts."""
        if self.store is None:
            return 0, 0
        now = utcnow()
        stale = self.store.stale_uploads((now - STALE_UPLOAD).timestamp())
        for path in stale:
            path.unlink(missing_ok=True)
        cutoff = (now - timedelta(days=self.options.orphan_days)).timestamp()
        old = [sha for sha, _, mtime in self.store.stored() if mtime < cutoff]
        orphans: list[str] = []
        with database.engine.connect() as connection:
            for start in range(0, len(old), 500):
                chunk = old[start : start + 500]
                names = {f"h{i}": sha for i, sha in enumerate(chunk)}
                marks = ", ".join(f":{key}" for key in names)
                used = {
                    row[0]
                    for row in connection.execute(
                        text(f"SELECT DISTINCT sha256 FROM attachment WHERE sha256 IN ({marks})"), names
                    )
                }
                orphans.extend(sha for sha in chunk if sha not in used)
        removed = self.store.remove(orphans)
        forget_holders(database, orphans)
        return len(stale), removed

    def worker(self, state: ServerState) -> Callable[[], None]:
        """Sweep once an hour while the server runs."""
        stop = threading.Event()

        def run() -> None:
            while not stop.wait(SWEEP_SECONDS):
                try:
                    self.sweep(state.database)
                except Exception:
                    log.exception("sweeping the attachment folder failed")

        thread = threading.Thread(target=run, name="blob-sweep", daemon=True)
        thread.start()

        def halt() -> None:
            stop.set()
            thread.join(timeout=5)

        return halt


def count_on_ticket(connection: Connection, ticket_id: str) -> int:
    """How many files a ticket's messages name."""
    found = connection.execute(
        text("SELECT count(*) FROM attachment x JOIN message m ON m.id = x.message_id WHERE m.ticket_id = :t"),
        {"t": ticket_id},
    ).scalar()
    return int(found or 0)


def forget_holders(database: ServerDatabase, hashes: list[str]) -> None:
    """Drop the upload records of files that are gone."""
    if not hashes:
        return
    with database.engine.begin() as connection:
        for start in range(0, len(hashes), 500):
            chunk = hashes[start : start + 500]
            names = {f"h{i}": sha for i, sha in enumerate(chunk)}
            marks = ", ".join(f":{key}" for key in names)
            connection.execute(
                text(
                    f"DELETE FROM blob_holder WHERE sha256 IN ({marks}) AND sha256 NOT IN "
                    f"(SELECT sha256 FROM attachment WHERE sha256 IN ({marks}))"
                ),
                names,
            )
