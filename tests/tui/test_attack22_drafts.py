"""attack22: drafts written as the console quits (``TicketScreen.on_unmount`` →
``ConsoleDB.save_drafts_on_close``) must not bring back a draft that was removed meanwhile.

The pane keeps in memory every draft it handed to a save worker, and since fd57f2b writes them
all again as the console closes. A customer's erasure (run by another process, or pulled as a
tombstone) deletes the drafts on that customer's tickets — an agent's reply quotes the customer's
words — and the quit wrote the erased ticket's draft back into the workspace: text erasure had
removed.
"""

from __future__ import annotations

from supportdesk.domain import write
from supportdesk.domain.context import SYSTEM
from supportdesk.store.workspace import Workspace
from tests.tui.conftest import AppFactory, settle, until
from tests.tui.test_flows import open_first, rows, type_text


async def test_attack22_quitting_does_not_write_back_the_draft_of_an_erased_customer(
    make_app: AppFactory, console_workspace: Workspace
) -> None:
    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        _screen, ticket_id = await open_first(pilot, app)
        await pilot.press("r")
        await type_text(pilot, "erin lives at nine elm street")
        await until(pilot, lambda: bool(rows(console_workspace, "SELECT 1 FROM draft WHERE ticket_id = ?", ticket_id)))
        await settle(pilot)
        requester = rows(console_workspace, "SELECT requester_id FROM ticket WHERE id = ?", ticket_id)[0][0]
        # another process (the CLI, or a pulled tombstone) erases the customer meanwhile
        write.apply(console_workspace, "customer.erase", {"customer_id": requester}, actor=SYSTEM)
        assert not rows(console_workspace, "SELECT 1 FROM draft WHERE ticket_id = ?", ticket_id)
        await settle(pilot)
    left = rows(console_workspace, "SELECT body FROM draft WHERE ticket_id = ?", ticket_id)
    assert not left, [row[0] for row in left]
    assert not rows(console_workspace, "SELECT 1 FROM draft WHERE body LIKE '%nine elm%'")
