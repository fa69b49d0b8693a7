"""A file's hash in a draft's words must not keep the file (named14, 2026-12-07).

When a ticket leaves the replica, its cached files go unless something here still names them
(``sync.blob_cache.forget_files``). The draft part of that check was a substring match on the
draft's JSON: any draft whose text held the hash kept the file — a refusal's reason quoting a
file name, or the name of a file a customer sent and the agent attached elsewhere, which a
customer picks. The file stayed on the agent's disk with no row naming it, and the erasure of
its customer, which finds a replica's files through the rows it holds, could not reach it.
Now a draft names only the files it staged (``store.blobs.still_named``).
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path
from typing import Any

from supportdesk.domain import write
from supportdesk.domain.context import SYSTEM
from supportdesk.domain.mutations.privacy import finish_erase
from supportdesk.store import local_state
from supportdesk.store.blobs import AttachmentLimits
from supportdesk.store.workspace import Workspace
from supportdesk.sync.blob_cache import forget_files, stage, unstage
from supportdesk.sync.rows import delete_ticket

SCAN = b"Passport of Kim Doe, X1234567, 12 Elm Street\n"
HASH = hashlib.sha256(SCAN).hexdigest()


def _ticket(workspace: Workspace, address: str) -> tuple[str, str]:
    args = {"subject": "Scan", "body": "here", "requester": {"value": address, "name": address.split("@")[0]}}
    ticket_id = str(write.apply(workspace, "ticket.create", args, actor=SYSTEM).result["ticket_id"])
    with workspace.reading() as connection:
        requester = connection.execute("SELECT requester_id FROM ticket WHERE id = ?", (ticket_id,)).fetchone()[0]
    return ticket_id, str(requester)


def _stage(workspace: Workspace, tmp_path: Path, content: bytes, name: str) -> list[dict[str, Any]]:
    path = tmp_path / name
    path.write_bytes(content)
    return stage(workspace, [path], AttachmentLimits())


def _pushed(connection: sqlite3.Connection) -> None:
    """The server acknowledged every change so far (what a sync round does)."""
    connection.execute("UPDATE sync_state SET last_acked_mutation_id = (SELECT max(id) FROM outbox) WHERE id = 1")


def _holding_scan(workspace: Workspace) -> list[Path]:
    return [p for p in workspace.attachments_dir.rglob("*") if p.is_file() and SCAN in p.read_bytes()]


def test_a_draft_whose_words_hold_the_hash_keeps_no_file_of_a_ticket_that_left(
    workspace: Workspace, tmp_path: Path
) -> None:
    kim_ticket, kim = _ticket(workspace, "kim@example.com")
    scan = _stage(workspace, tmp_path, SCAN, "scan.txt")
    write.apply(workspace, "ticket.note", {"ticket_id": kim_ticket, "body": "the scan", "attachments": scan})
    lee_ticket, _lee = _ticket(workspace, "lee@example.com")
    # a file a customer sent under a name of their choosing, attached by the agent to another reply
    # that the server refused, its reason quoting that name
    other = _stage(workspace, tmp_path, b"an invoice\n", f"{HASH}.txt")
    state = {"refused": True, "reason": f"the file '{HASH}.txt' was not uploaded", "attachments": other}
    with workspace.writing() as connection:
        assert local_state.save_draft(connection, local_state.Draft(lee_ticket, "reply", "see the file", state))
        _pushed(connection)
        delete_ticket(connection, kim_ticket)  # a pull hid Kim's ticket
    assert forget_files(workspace, {HASH}) == 1
    assert not _holding_scan(workspace), "no row, change or staged file names it: it goes with the ticket"
    assert [p for p in workspace.attachments_dir.rglob(other[0]["sha256"]) if p.is_file()], "the draft's own file stays"
    outcome = write.apply(workspace, "customer.erase", {"customer_id": kim}, actor=SYSTEM)
    finish_erase(workspace, outcome.result["files"])
    assert not _holding_scan(workspace)


def test_a_file_a_draft_staged_still_stays_when_its_ticket_leaves(workspace: Workspace, tmp_path: Path) -> None:
    kim_ticket, _kim = _ticket(workspace, "kim@example.com")
    lee_ticket, _lee = _ticket(workspace, "lee@example.com")
    scan = _stage(workspace, tmp_path, SCAN, "scan.txt")
    write.apply(workspace, "ticket.note", {"ticket_id": kim_ticket, "body": "the scan", "attachments": scan})
    with workspace.writing() as connection:
        assert local_state.save_draft(connection, local_state.Draft(lee_ticket, "reply", "fwd", {"attachments": scan}))
        _pushed(connection)
        delete_ticket(connection, kim_ticket)
    assert forget_files(workspace, {HASH}) == 0
    assert _holding_scan(workspace)


def test_unstage_keeps_a_file_a_draft_staged(workspace: Workspace, tmp_path: Path) -> None:
    """A command refused before it was written unstages its files; the same bytes staged in a
    console draft are that draft's, and stay (before: only rows and pending changes were asked)."""
    lee_ticket, _lee = _ticket(workspace, "lee@example.com")
    scan = _stage(workspace, tmp_path, SCAN, "scan.txt")
    with workspace.writing() as connection:
        assert local_state.save_draft(connection, local_state.Draft(lee_ticket, "reply", "fwd", {"attachments": scan}))
    again = _stage(workspace, tmp_path, SCAN, "scan-again.txt")
    assert unstage(workspace, again) == 0
    assert _holding_scan(workspace)
    with workspace.writing() as connection:
        local_state.delete_draft(connection, lee_ticket, "reply")
    assert unstage(workspace, again) == 1
    assert not _holding_scan(workspace)
