"""A file staged in a draft goes with the customer's erasure when only that draft named it
(review of attack24's fixes, 2026-12-07).

An erasure deletes the drafts on the person's tickets, and the refused drafts stamped with them
(kept after their ticket left the replica), but removed only the files the person's messages
named: a file staged in such a draft (the customer's own scan, re-attached to a reply) stayed on
the agent's disk with nothing naming it. A file another draft, or a change not yet pushed, still
names stays.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from supportdesk.domain import write
from supportdesk.domain.context import SYSTEM
from supportdesk.domain.mutations.privacy import finish_erase
from supportdesk.store import local_state
from supportdesk.store.blobs import AttachmentLimits
from supportdesk.store.workspace import Workspace
from supportdesk.sync.blob_cache import stage
from supportdesk.sync.rows import delete_ticket

SCAN = b"Passport of Kim Doe, X1234567\n"


def _ticket(workspace: Workspace, address: str) -> tuple[str, str]:
    args = {"subject": "Scan", "body": "here", "requester": {"value": address, "name": address.split("@")[0]}}
    ticket_id = str(write.apply(workspace, "ticket.create", args, actor=SYSTEM).result["ticket_id"])
    with workspace.reading() as connection:
        requester = connection.execute("SELECT requester_id FROM ticket WHERE id = ?", (ticket_id,)).fetchone()[0]
    return ticket_id, str(requester)


def _staged(workspace: Workspace, tmp_path: Path) -> list[dict[str, Any]]:
    scan = tmp_path / "scan.txt"
    scan.write_bytes(SCAN)
    return stage(workspace, [scan], AttachmentLimits())


def _cached(workspace: Workspace) -> list[Path]:
    digest = hashlib.sha256(SCAN).hexdigest()
    return [p for p in workspace.attachments_dir.rglob(digest) if p.is_file()]


def _erase(workspace: Workspace, customer_id: str) -> None:
    outcome = write.apply(workspace, "customer.erase", {"customer_id": customer_id}, actor=SYSTEM)
    finish_erase(workspace, outcome.result["files"])


def test_a_file_only_a_draft_on_the_erased_customers_ticket_names_is_removed(
    workspace: Workspace, tmp_path: Path
) -> None:
    ticket_id, kim = _ticket(workspace, "kim@example.com")
    files = _staged(workspace, tmp_path)
    with workspace.writing() as connection:
        draft = local_state.Draft(ticket_id, "reply", "Kim, your scan", {"attachments": files})
        assert local_state.save_draft(connection, draft)
    assert _cached(workspace)
    _erase(workspace, kim)
    assert not _cached(workspace)


def test_a_file_only_a_stamped_refused_draft_names_is_removed(workspace: Workspace, tmp_path: Path) -> None:
    ticket_id, kim = _ticket(workspace, "kim@example.com")
    files = _staged(workspace, tmp_path)
    with workspace.writing() as connection:
        state = {"refused": True, "reason": "not yours", "attachments": files}
        assert local_state.save_draft(connection, local_state.Draft(ticket_id, "reply", "Kim, your scan", state))
        delete_ticket(connection, ticket_id)  # the ticket left: the refused draft stays, stamped
    _erase(workspace, kim)
    assert not _cached(workspace)
    with workspace.reading() as connection:
        assert connection.execute("SELECT count(*) FROM draft").fetchone()[0] == 0


def test_a_file_another_draft_names_stays(workspace: Workspace, tmp_path: Path) -> None:
    ticket_id, kim = _ticket(workspace, "kim@example.com")
    other_ticket, _lee = _ticket(workspace, "lee@example.com")
    files = _staged(workspace, tmp_path)
    with workspace.writing() as connection:
        for ticket in (ticket_id, other_ticket):
            assert local_state.save_draft(connection, local_state.Draft(ticket, "reply", "see", {"attachments": files}))
    _erase(workspace, kim)
    assert _cached(workspace)
    with workspace.reading() as connection:
        assert [r[0] for r in connection.execute("SELECT ticket_id FROM draft")] == [other_ticket]


def test_a_file_another_draft_only_mentions_in_its_words_goes(workspace: Workspace, tmp_path: Path) -> None:
    """(named14) Another draft names a file only by staging it: a refusal's reason or a file name
    holding the hash keeps nothing (store.blobs.still_named reads the parsed state)."""
    ticket_id, kim = _ticket(workspace, "kim@example.com")
    other_ticket, _lee = _ticket(workspace, "lee@example.com")
    digest = hashlib.sha256(SCAN).hexdigest()
    files = _staged(workspace, tmp_path)
    mention = {"refused": True, "reason": f"the file '{digest}' was not uploaded"}
    with workspace.writing() as connection:
        assert local_state.save_draft(connection, local_state.Draft(ticket_id, "reply", "see", {"attachments": files}))
        assert local_state.save_draft(connection, local_state.Draft(other_ticket, "note", f"{digest}?", mention))
    _erase(workspace, kim)
    assert not _cached(workspace)


def test_a_malformed_draft_on_the_persons_ticket_does_not_stop_the_erasure(
    workspace: Workspace, tmp_path: Path
) -> None:
    """(named14) A draft whose state is not JSON (written by hand, or a disk's damage) is deleted
    with the others; it names no file, and the staged files of the well-formed ones still go."""
    ticket_id, kim = _ticket(workspace, "kim@example.com")
    files = _staged(workspace, tmp_path)
    with workspace.writing() as connection:
        assert local_state.save_draft(connection, local_state.Draft(ticket_id, "reply", "see", {"attachments": files}))
        connection.execute(
            "INSERT INTO draft (ticket_id, kind, body, state, updated_at) VALUES (?, 'note', 'Kim', '{not json', ?)",
            (ticket_id, "2026-01-01 00:00:00"),
        )
    _erase(workspace, kim)
    assert not _cached(workspace)
    with workspace.reading() as connection:
        assert connection.execute("SELECT count(*) FROM draft").fetchone()[0] == 0
