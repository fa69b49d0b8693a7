"""review14: an agent's attached files in drafts, when the ticket leaves the replica, when the
server refuses the reply, and when a draft's bytes are damaged.

- A file staged in a draft on a ticket that leaves this store went unseen: only the files of
  attachment rows were candidates for removal, the draft was deleted, and nothing named the file
  any more for a later erasure to find.
- A refused reply kept as the composer's draft lost its attachments: the agent's file was no
  longer in the draft, and nothing named it.
- A draft whose state is text that is not UTF-8 made the "still named" answer raise, and an
  erasure with it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from supportdesk.domain import write
from supportdesk.domain.context import SYSTEM
from supportdesk.domain.mutations.privacy import finish_erase
from supportdesk.store import local_state
from supportdesk.store.blobs import AttachmentLimits, still_named, unsent
from supportdesk.store.workspace import Workspace
from supportdesk.sync.blob_cache import forget_files, stage
from supportdesk.sync.engine import keep_as_draft
from supportdesk.sync.rows import delete_ticket, ticket_files

SCAN = b"Passport of Kim Doe, X1234567\n"
HASH = hashlib.sha256(SCAN).hexdigest()


def _ticket(workspace: Workspace) -> tuple[str, str]:
    args = {"subject": "Scan", "body": "here", "requester": {"value": "kim@example.com", "name": "Kim"}}
    ticket_id = str(write.apply(workspace, "ticket.create", args, actor=SYSTEM).result["ticket_id"])
    with workspace.reading() as connection:
        requester = connection.execute("SELECT requester_id FROM ticket WHERE id = ?", (ticket_id,)).fetchone()[0]
    return ticket_id, str(requester)


def _staged(workspace: Workspace, tmp_path: Path, content: bytes = SCAN) -> list[dict[str, Any]]:
    path = tmp_path / f"{hashlib.sha256(content).hexdigest()[:8]}.txt"
    path.write_bytes(content)
    return stage(workspace, [path], AttachmentLimits())


def _on_disk(workspace: Workspace, digest: str = HASH) -> bool:
    return any(p.is_file() for p in workspace.attachments_dir.rglob(digest))


def _leave(workspace: Workspace, ticket_id: str) -> None:
    """What a round does when a pull hides a ticket: its files read, its rows deleted, then the files forgotten."""
    with workspace.writing() as connection:
        hashes = ticket_files(connection, [ticket_id])
        delete_ticket(connection, ticket_id)
    forget_files(workspace, hashes)


def test_a_file_staged_in_a_draft_goes_with_the_ticket_that_leaves(workspace: Workspace, tmp_path: Path) -> None:
    ticket_id, _kim = _ticket(workspace)
    files = _staged(workspace, tmp_path)
    with workspace.writing() as connection:
        assert local_state.save_draft(connection, local_state.Draft(ticket_id, "reply", "see", {"attachments": files}))
    assert _on_disk(workspace)
    _leave(workspace, ticket_id)
    assert not _on_disk(workspace), "the draft went with its ticket: its staged file must go too"


def test_a_refused_reply_kept_as_a_draft_keeps_its_attachments(workspace: Workspace, tmp_path: Path) -> None:
    ticket_id, _kim = _ticket(workspace)
    first = _staged(workspace, tmp_path)
    second = _staged(workspace, tmp_path, b"a second page\n")
    keep_as_draft(
        workspace, "ticket.reply", {"ticket_id": ticket_id, "body": "see the scan", "attachments": first}, "no"
    )
    keep_as_draft(
        workspace, "ticket.reply", {"ticket_id": ticket_id, "body": "and page 2", "attachments": second}, "no"
    )
    keep_as_draft(workspace, "ticket.reply", {"ticket_id": ticket_id, "body": "again", "attachments": first}, "no")
    with workspace.reading() as connection:
        state = json.loads(
            connection.execute("SELECT state FROM draft WHERE ticket_id = ?", (ticket_id,)).fetchone()[0]
        )
    assert [item["sha256"] for item in state["attachments"]] == [first[0]["sha256"], second[0]["sha256"]]
    assert state["refused"] is True
    _leave(workspace, ticket_id)  # the refused draft stays, and so do the files it names
    assert _on_disk(workspace)
    with workspace.reading() as connection:
        assert still_named(connection, {HASH}) == {HASH}
        assert unsent(connection, {HASH}) == {HASH}


def test_a_draft_state_that_is_not_utf8_names_nothing_and_stops_no_erasure(
    workspace: Workspace, tmp_path: Path
) -> None:
    ticket_id, kim = _ticket(workspace)
    files = _staged(workspace, tmp_path)
    with workspace.writing() as connection:
        connection.execute(
            "INSERT INTO draft (ticket_id, kind, body, state, updated_at) "
            "VALUES (?, 'note', 'x', CAST(x'7b22ff' AS TEXT), '2026-01-01 00:00:00')",
            (ticket_id,),
        )
    with workspace.writing() as connection:
        assert local_state.save_draft(connection, local_state.Draft(ticket_id, "reply", "see", {"attachments": files}))
    with workspace.reading() as connection:  # the damaged draft names nothing; the good one still does
        assert still_named(connection, {HASH}) == {HASH}
        assert unsent(connection, {HASH}) == {HASH}
    outcome = write.apply(workspace, "customer.erase", {"customer_id": kim}, actor=SYSTEM)
    finish_erase(workspace, outcome.result["files"])
    assert not _on_disk(workspace)
    with workspace.reading() as connection:
        assert connection.execute("SELECT count(*) FROM draft").fetchone()[0] == 0
