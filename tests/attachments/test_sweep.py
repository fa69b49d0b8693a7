"""The hourly sweep: abandoned uploads and files no message names go after their grace period;
a file a message names stays however old it is."""

from __future__ import annotations

import os
from pathlib import Path

from supportdesk.domain.context import SYSTEM
from supportdesk.server.apply import apply_as
from supportdesk.server.blobs import BlobOptions, ServerBlobs
from supportdesk.server.db import open_database
from supportdesk.store.times import utcnow


def test_the_sweep_removes_orphans_and_stale_uploads_only(tmp_path: Path) -> None:
    database = open_database(str(tmp_path / "server.db"))
    try:
        blobs = ServerBlobs(BlobOptions(root=tmp_path / "blobs", orphan_days=2))
        assert blobs.store is not None
        named = blobs.store.put_bytes(b"on a ticket")
        orphan = blobs.store.put_bytes(b"attached, never sent")
        fresh = blobs.store.put_bytes(b"attached a minute ago")
        upload = blobs.store.open_upload(named.sha256, "agent-1", 0, total=100, limit=1000)
        upload.write(b"half")
        upload.close()
        old = utcnow().timestamp() - 3 * 86400
        for path in (named.path, orphan.path, *(tmp_path / "blobs" / "uploads").iterdir()):
            os.utime(path, (old, old))
        item = {"sha256": named.sha256, "filename": "x.txt", "size": named.size, "content_type": "text/plain"}
        ticket = {"subject": "s", "body": "b", "requester": {"value": "ana@example.com"}, "attachments": [item]}
        apply_as(database, SYSTEM, "ticket.create", ticket)
        stale, removed = blobs.sweep(database)
        assert (stale, removed) == (1, 1)
        assert blobs.store.has(named.sha256) and blobs.store.has(fresh.sha256)
        assert not blobs.store.has(orphan.sha256)
    finally:
        database.dispose()
