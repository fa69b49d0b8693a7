"""attack24: a reply or note refused after its ticket already left the agent's replica is kept as
a draft (the README's promise) — and must still go when its customer is erased.

The ticket can leave before the refusal comes back: the console writes into the outbox while a
sync round runs, between the round's push and its pull, and that pull takes the ticket away (it
moved to a group the agent does not see). The next round pushes the note, the server refuses it,
and ``keep_as_draft`` keeps the text on a ticket the replica no longer holds — so the draft was
not stamped with the ticket's requester (``sync.rows.delete_ticket`` stamps only drafts already
there), and a later erasure tombstone, which finds drafts by the person's tickets or by that
stamp, left the customer's words on the agent's disk.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from supportdesk.sync.engine import SyncEngine, SyncSummary
from tests.live import Deployment, Replica

SECRET = "Kim's passport is X1234567."


def _create(replica: Replica, subject: str, group_id: str) -> str:
    args = {"subject": subject, "body": f"{subject}: details", "requester": {"value": "kim@example.com"}}
    return str(replica.apply("ticket.create", {**args, "group_id": group_id}).result["ticket_id"])


def _round_with_a_note_written_mid_round(sam: Replica, ticket_id: str) -> None:
    """One sync round of Sam's in which the note is written after the push and before the pull,
    as the console does when the agent sends while its background round runs."""
    engine = SyncEngine(sam.workspace, sam.client)
    push = engine.push
    written: list[bool] = []

    def push_then_write(summary: SyncSummary, progress: Any = None) -> None:
        push(summary, progress)
        if not written:
            written.append(True)
            sam.apply("ticket.note", {"ticket_id": ticket_id, "body": SECRET})

    engine.push = push_then_write  # type: ignore[method-assign]
    engine.sync_once()
    assert written


def test_attack24_a_note_refused_after_its_ticket_left_goes_with_its_customers_erasure(
    sqlite_deployment: Deployment,
) -> None:
    team = sqlite_deployment.team
    with sqlite_deployment.replicas("sam", "ada") as (sam, ada):
        ticket_id = _create(sam, "Secret", team.tier1)
        sam.sync()
        ada.sync()
        requester = ada.rows("SELECT requester_id FROM ticket WHERE id = ?", ticket_id)[0][0]
        ada.apply("ticket.assign", {"ticket_id": ticket_id, "group_id": team.billing, "assignee_id": None})
        ada.sync()
        _round_with_a_note_written_mid_round(sam, ticket_id)
        assert sam.rows("SELECT count(*) FROM ticket WHERE id = ?", ticket_id) == [(0,)]
        summary = sam.sync()
        assert [r.name for r in summary.refused] == ["ticket.note"]
        # the promise kept: the refused text is the ticket's draft, though the ticket is gone
        assert sam.rows("SELECT body FROM draft WHERE ticket_id = ?", ticket_id) == [(SECRET,)]
        ada.apply("customer.erase", {"customer_id": requester})
        ada.sync()
        sam.sync()
        assert sam.rows("SELECT count(*) FROM draft") == [(0,)]
        assert sam.rows("SELECT count(*) FROM outbox") == [(0,)]
        assert b"X1234567" not in Path(sam.workspace.db_path).read_bytes()


def test_attack24_a_note_refused_after_its_ticket_left_is_kept_while_its_customer_is_not_erased(
    sqlite_deployment: Deployment,
) -> None:
    """The stamp changes nothing else: the draft stays, and comes back with the ticket."""
    team = sqlite_deployment.team
    with sqlite_deployment.replicas("sam", "ada") as (sam, ada):
        ticket_id = _create(sam, "Kept", team.tier1)
        sam.sync()
        ada.sync()
        ada.apply("ticket.assign", {"ticket_id": ticket_id, "group_id": team.billing, "assignee_id": None})
        ada.sync()
        _round_with_a_note_written_mid_round(sam, ticket_id)
        sam.sync()
        assert sam.rows("SELECT body FROM draft WHERE ticket_id = ?", ticket_id) == [(SECRET,)]
        ada.apply("ticket.assign", {"ticket_id": ticket_id, "group_id": team.tier1, "assignee_id": None})
        ada.sync()
        sam.sync()
        assert sam.rows("SELECT count(*) FROM ticket WHERE id = ?", ticket_id) == [(1,)]
        assert sam.rows("SELECT body FROM draft WHERE ticket_id = ?", ticket_id) == [(SECRET,)]
