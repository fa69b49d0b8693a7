"""Two edges of a ticket leaving the replica (the review of attack24's fixes, 2026-12-07).

- A refused reply kept as a draft on a ticket that left this store is stamped with its
  requester (``sync.rows.delete_ticket``). The composer of a pane on that ticket, closing with
  nothing typed, saved an empty draft — which deleted the refused one: the agent's words lost.
- The cached files of tickets that left are removed after the round's commit
  (``sync.blob_cache.forget_files``); a file the disk refuses to remove made the round, which had
  committed, end in an error.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
from pathlib import Path

import pytest

from supportdesk.domain import write
from supportdesk.domain.context import SYSTEM
from supportdesk.store import files as store_files
from supportdesk.store import local_state
from supportdesk.store.blobs import AttachmentLimits
from supportdesk.store.workspace import Workspace
from supportdesk.sync.blob_cache import forget_files, stage
from supportdesk.sync.rows import delete_ticket

REFUSED = "Dear Kim, your refund of 40 EUR went out today."


def _ticket(workspace: Workspace) -> str:
    args = {"subject": "Refund", "body": "where is it", "requester": {"value": "kim@example.com", "name": "Kim"}}
    return str(write.apply(workspace, "ticket.create", args, actor=SYSTEM).result["ticket_id"])


def _draft(workspace: Workspace, ticket_id: str) -> tuple[str, dict[str, object]] | None:
    with workspace.reading() as connection:
        row = connection.execute("SELECT body, state FROM draft WHERE ticket_id = ?", (ticket_id,)).fetchone()
    return None if row is None else (row[0], json.loads(row[1]))


def test_an_empty_save_keeps_the_refused_draft_of_a_ticket_that_left(workspace: Workspace) -> None:
    ticket_id = _ticket(workspace)
    with workspace.writing() as connection:
        refused = local_state.Draft(ticket_id, "reply", REFUSED, {"refused": True, "reason": "not yours"})
        assert local_state.save_draft(connection, refused)
        delete_ticket(connection, ticket_id)  # a pull hid it: the refused draft stays, stamped
        assert local_state.save_draft(connection, local_state.Draft(ticket_id, "reply", ""))
    kept = _draft(workspace, ticket_id)
    assert kept is not None and kept[0] == REFUSED and kept[1].get("requester_id")


def test_an_empty_save_still_deletes_a_draft_of_a_held_ticket_and_an_unstamped_one(workspace: Workspace) -> None:
    held, gone = _ticket(workspace), _ticket(workspace)
    with workspace.writing() as connection:
        refused = {"refused": True, "reason": "not yours"}
        assert local_state.save_draft(connection, local_state.Draft(held, "reply", REFUSED, refused))
        delete_ticket(connection, gone)
        # an unstamped draft left on a ticket this store no longer holds (written by an older version)
        connection.execute(
            "INSERT INTO draft (ticket_id, kind, body, state, updated_at) VALUES (?, 'note', 'old', '{}', ?)",
            (gone, "2026-01-01 00:00:00"),
        )
        assert local_state.save_draft(connection, local_state.Draft(held, "reply", ""))
        assert local_state.save_draft(connection, local_state.Draft(gone, "note", ""))
    assert _draft(workspace, held) is None
    assert _draft(workspace, gone) is None


def test_a_cached_file_the_disk_refuses_to_remove_does_not_fail_the_round(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    content = b"scan of a passport\n"
    scan = tmp_path / "scan.txt"
    scan.write_bytes(content)
    stage(workspace, [scan], AttachmentLimits())
    digest = hashlib.sha256(content).hexdigest()

    def refused(_path: Path) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(store_files, "_overwrite", refused)  # the disk fails, as a real one can
    with caplog.at_level(logging.WARNING, logger="supportdesk.sync.blob_cache"):
        assert forget_files(workspace, {digest}) == 0
    assert "not removed" in caplog.text
    monkeypatch.undo()
    assert forget_files(workspace, {digest}) == 1
    assert not [p for p in workspace.attachments_dir.rglob(digest) if p.is_file()]
