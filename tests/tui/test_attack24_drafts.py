"""attack24: a draft the console writes for a ticket that already left the store (a pull hid it:
moved to a group the agent is not in) must still go when its customer is erased.

The pull that hides a ticket deletes its drafts (``sync.rows.delete_ticket``: only a refused one
is kept, stamped with the ticket's requester). But the pane on that ticket still holds the text
typed since its last save, and writes it as it closes (``TicketScreen.on_unmount``) or when its
save timer fires: a draft on a ticket the store no longer holds, stamped with nobody, so the
erasure of the ticket's customer — which finds drafts by the person's tickets in the store, or by
that stamp — never found it, and the words quoting the customer stayed on the agent's disk.
"""

from __future__ import annotations

from supportdesk.domain import write
from supportdesk.domain.context import SYSTEM
from supportdesk.store.workspace import Workspace
from supportdesk.sync.local import sync_transaction
from supportdesk.sync.rows import delete_ticket
from supportdesk.tui.screens.queue import QueueScreen
from tests.tui.conftest import AppFactory, settle, until
from tests.tui.test_flows import open_first, rows, type_text


async def test_attack24_a_draft_written_after_its_ticket_left_goes_with_its_customers_erasure(
    make_app: AppFactory, console_workspace: Workspace
) -> None:
    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        _screen, ticket_id = await open_first(pilot, app)
        requester = rows(console_workspace, "SELECT requester_id FROM ticket WHERE id = ?", ticket_id)[0][0]
        await pilot.press("r")
        await type_text(pilot, "erin lives at")
        await until(pilot, lambda: bool(rows(console_workspace, "SELECT 1 FROM draft WHERE ticket_id = ?", ticket_id)))
        await settle(pilot)
        await type_text(pilot, " nine elm street")  # within the save delay of the last key
        with sync_transaction(console_workspace) as (_, raw):  # as a pull's "hide" does
            delete_ticket(raw, ticket_id)
        assert app.check_store()
        await until(pilot, lambda: isinstance(app.screen, QueueScreen))
        await settle(pilot)
    write.apply(console_workspace, "customer.erase", {"customer_id": requester}, actor=SYSTEM)
    left = rows(console_workspace, "SELECT body FROM draft WHERE body LIKE '%elm%'")
    assert not left, [row[0] for row in left]


async def test_attack24_a_draft_on_a_ticket_moved_out_of_view_but_still_held_stays_saved(
    make_app: AppFactory, console_workspace: Workspace
) -> None:
    """What the README promises ("a draft stays saved") holds where the store still holds the
    ticket (a standalone workspace), and that draft still goes with its customer's erasure."""
    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        _screen, ticket_id = await open_first(pilot, app)
        requester = rows(console_workspace, "SELECT requester_id FROM ticket WHERE id = ?", ticket_id)[0][0]
        await pilot.press("r")
        await type_text(pilot, "erin lives at nine elm street")
        await settle(pilot)
    assert [r[0] for r in rows(console_workspace, "SELECT body FROM draft WHERE ticket_id = ?", ticket_id)] == [
        "erin lives at nine elm street"
    ]
    write.apply(console_workspace, "customer.erase", {"customer_id": requester}, actor=SYSTEM)
    assert not rows(console_workspace, "SELECT body FROM draft WHERE body LIKE '%elm%'")
