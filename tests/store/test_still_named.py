"""``store.blobs.still_named``: the one answer to "does anything in this workspace still name
this file?" — an attachment row, a draft that staged it, a change still waiting in the outbox.

Both the cache of files of tickets that left (``sync.blob_cache.forget_files``) and an erasure's
drafts (``privacy.forget_locally``) ask it; "names" is the parsed JSON, never the words: a draft
whose text only holds the hash names nothing.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from supportdesk.domain import write
from supportdesk.domain.context import SYSTEM
from supportdesk.store.blobs import AttachmentLimits, still_named
from supportdesk.store.workspace import Workspace
from supportdesk.sync.blob_cache import stage

SCAN = b"Passport of Kim Doe, X1234567\n"
HASH = hashlib.sha256(SCAN).hexdigest()
OTHER = hashlib.sha256(b"someone else's file\n").hexdigest()


def _staged(workspace: Workspace, tmp_path: Path) -> list[dict[str, Any]]:
    path = tmp_path / "scan.txt"
    path.write_bytes(SCAN)
    return stage(workspace, [path], AttachmentLimits())


def _ticket(workspace: Workspace) -> str:
    args = {"subject": "Scan", "body": "here", "requester": {"value": "kim@example.com", "name": "Kim"}}
    return str(write.apply(workspace, "ticket.create", args, actor=SYSTEM).result["ticket_id"])


def _draft(workspace: Workspace, ticket_id: str, state: str, body: str = "") -> None:
    with workspace.writing() as connection:
        connection.execute(
            "INSERT INTO draft (ticket_id, kind, body, state, updated_at) VALUES (?, 'reply', ?, ?, ?)",
            (ticket_id, body, state, "2026-01-01 00:00:00"),
        )


def _outbox(workspace: Workspace, args: str, *, acked: bool = False) -> None:
    with workspace.writing() as connection:
        entry = connection.execute(
            "INSERT INTO outbox (name, args, created_at) VALUES ('ticket.note', ?, ?)",
            (args, "2026-01-01 00:00:00"),
        ).lastrowid
        if acked:
            connection.execute("UPDATE sync_state SET last_acked_mutation_id = ? WHERE id = 1", (entry,))


def _ask(workspace: Workspace, candidates: set[str]) -> tuple[set[str], list[str]]:
    """The answer, and the statements it ran."""
    statements: list[str] = []
    with workspace.reading() as connection:
        connection.set_trace_callback(statements.append)
        try:
            return still_named(connection, candidates), statements
        finally:
            connection.set_trace_callback(None)


def test_an_empty_candidate_set_runs_no_statement(workspace: Workspace) -> None:
    _draft(workspace, "t-1", json.dumps({"attachments": [{"sha256": HASH}]}))
    assert _ask(workspace, set()) == (set(), [])
    assert _ask(workspace, {"../../etc/passwd", HASH.upper()}) == (set(), [])  # not hashes: never named


def test_nothing_names_a_file_nothing_holds(workspace: Workspace) -> None:
    named, statements = _ask(workspace, {HASH})
    assert named == set()
    assert len(statements) == 3  # the attachment rows, the drafts, the pending changes


def test_an_attachment_row_names_it_and_nothing_more_is_read(workspace: Workspace, tmp_path: Path) -> None:
    files = _staged(workspace, tmp_path)
    write.apply(workspace, "ticket.note", {"ticket_id": _ticket(workspace), "body": "scan", "attachments": files})
    named, statements = _ask(workspace, {HASH, OTHER})
    assert named == {HASH}
    named, statements = _ask(workspace, {HASH})
    assert named == {HASH}
    assert len(statements) == 1  # every candidate named by a row: no draft or change is read


def test_a_draft_that_staged_it_names_it(workspace: Workspace, tmp_path: Path) -> None:
    files = _staged(workspace, tmp_path)
    _draft(workspace, "t-1", json.dumps({"status": "open", "attachments": files}))
    assert _ask(workspace, {HASH, OTHER})[0] == {HASH}


def test_a_pending_change_names_it_an_acknowledged_one_does_not(workspace: Workspace, tmp_path: Path) -> None:
    files = _staged(workspace, tmp_path)
    _outbox(workspace, json.dumps({"ticket_id": "t-1", "body": "x", "attachments": files}), acked=True)
    assert _ask(workspace, {HASH})[0] == set()
    _outbox(workspace, json.dumps({"ticket_id": "t-1", "body": "x", "attachments": files}))
    assert _ask(workspace, {HASH})[0] == {HASH}


@pytest.mark.parametrize(
    "state",
    [
        {"refused": True, "reason": f"the file '{HASH}' was not uploaded before this change"},
        {"attachments": [{"sha256": OTHER, "filename": f"{HASH}.txt"}]},  # a customer chose that name
        {"macro": {"name": "Scan received", "summary": f"subject → {HASH}"}},
        {"attachments": f"{HASH}"},  # not a list of files
        {"attachments": [HASH]},  # nor is a bare string a staged file
        {"note": {"attachments": [{"sha256": HASH}]}},  # nested elsewhere: not the composer's files
    ],
)
def test_a_draft_whose_words_merely_hold_the_hash_names_nothing(workspace: Workspace, state: dict[str, Any]) -> None:
    _draft(workspace, "t-1", json.dumps(state), body=f"see {HASH}")
    _outbox(workspace, json.dumps({"ticket_id": "t-1", "body": f"see {HASH}"}))
    assert _ask(workspace, {HASH})[0] == set()


MALFORMED = ["{not json", '{"attachments": [{"sha256": "' + HASH + '"}', "", "null", "[1, 2]", "7"]


@pytest.mark.parametrize("text", MALFORMED)
def test_malformed_json_names_nothing_and_raises_nothing(workspace: Workspace, tmp_path: Path, text: str) -> None:
    _draft(workspace, "t-bad", text)
    _outbox(workspace, text)
    assert _ask(workspace, {HASH})[0] == set()
    files = _staged(workspace, tmp_path)  # a well-formed draft beside the broken one is still read
    _draft(workspace, "t-good", json.dumps({"attachments": files}))
    assert _ask(workspace, {HASH})[0] == {HASH}


def test_a_state_stored_as_bytes_that_are_not_text_names_nothing(workspace: Workspace) -> None:
    with workspace.writing() as connection:
        connection.execute(
            "INSERT INTO draft (ticket_id, kind, body, state, updated_at) VALUES ('t-1', 'reply', '', ?, ?)",
            (sqlite3.Binary(b"\xff\xfe" + HASH.encode()), "2026-01-01 00:00:00"),
        )
    assert _ask(workspace, {HASH})[0] == set()


def test_many_candidates_cost_one_statement_per_500_plus_two(workspace: Workspace) -> None:
    candidates = {hashlib.sha256(str(n).encode()).hexdigest() for n in range(1200)}
    named, statements = _ask(workspace, candidates)
    assert named == set()
    assert len(statements) == 3 + 2  # three IN lists, the drafts, the pending changes
