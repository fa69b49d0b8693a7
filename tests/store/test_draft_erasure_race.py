"""A draft is never written back over an erasure that commits while it is being saved
(``store.local_state.save_draft``; review of the twelfth session).

The console saves drafts on its watching connection, in autocommit. The save first asked whether
the ticket's customer was erased, then wrote: an erasure committed by the sync thread between
the two statements deleted the draft, and the write put it back with the customer's words. The
erasure here is the real mutation, run from another connection at the moment the draft's write
is about to go out.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from supportdesk.domain import write
from supportdesk.domain.context import SYSTEM
from supportdesk.store import local_state
from supportdesk.store.workspace import Workspace


def test_an_erasure_committing_as_the_draft_is_written_wins(workspace: Workspace) -> None:
    args = {"subject": "Card", "body": "my card", "requester": {"value": "alice@example.com", "name": "Alice"}}
    ticket_id = str(write.apply(workspace, "ticket.create", args, actor=SYSTEM).result["ticket_id"])
    with workspace.reading() as connection:
        requester = connection.execute("SELECT requester_id FROM ticket WHERE id = ?", (ticket_id,)).fetchone()[0]

    class ErasedJustBeforeTheDraftIsWritten(sqlite3.Connection):
        def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
            if sql.startswith("INSERT INTO draft"):
                write.apply(workspace, "customer.erase", {"customer_id": requester}, actor=SYSTEM)
            return super().execute(sql, *args)

    console = sqlite3.connect(
        workspace.db_path, isolation_level=None, factory=ErasedJustBeforeTheDraftIsWritten, check_same_thread=False
    )
    try:
        kept = local_state.save_draft(console, local_state.Draft(ticket_id, "reply", "Dear Alice, card 4111 1111"))
    finally:
        console.close()
    assert kept is False
    with workspace.reading() as connection:
        assert connection.execute("SELECT count(*) FROM draft").fetchone()[0] == 0
        assert connection.execute("SELECT erased_at FROM customer WHERE id = ?", (requester,)).fetchone()[0]


def test_a_draft_of_a_customer_not_erased_is_written(workspace: Workspace) -> None:
    args = {"subject": "Card", "body": "my card", "requester": {"value": "bob@example.com", "name": "Bob"}}
    ticket_id = str(write.apply(workspace, "ticket.create", args, actor=SYSTEM).result["ticket_id"])
    with workspace.writing() as connection:
        assert local_state.save_draft(connection, local_state.Draft(ticket_id, "reply", "Dear Bob"))
        assert local_state.save_draft(connection, local_state.Draft(ticket_id, "reply", "Dear Bob, again"))
    with workspace.reading() as connection:
        assert [tuple(row) for row in connection.execute("SELECT body FROM draft")] == [("Dear Bob, again",)]
