"""attack22: drafts written as the console quits (``TicketScreen.on_unmount`` →
``ConsoleDB.save_drafts_on_close``) must not bring back a draft that was removed meanwhile.

The pane keeps in memory every draft it handed to a save worker, and since fd57f2b writes them
all again as the console closes. A customer's erasure (run by another process, or pulled as a
tombstone) deletes the drafts on that customer's tickets — an agent's reply quotes the customer's
words — and the quit wrote the erased ticket's draft back into the workspace: text erasure had
removed.
"""

from __future__ import annotations

from textual.app import App
from textual.pilot import Pilot

from supportdesk.domain import write
from supportdesk.domain.context import SYSTEM
from supportdesk.store.workspace import Workspace
from supportdesk.tui.screens.ticket import TicketScreen
from tests.tui.conftest import AppFactory, settle, until
from tests.tui.test_flows import open_first, rows, type_text


async def erase_while_drafting(pilot: Pilot[None], app: App[None], workspace: Workspace) -> tuple[TicketScreen, str]:
    """Open the first ticket, type a reply quoting the customer until its draft is saved, then
    erase the customer from outside the console (the CLI, or a pulled tombstone)."""
    screen, ticket_id = await open_first(pilot, app)
    await pilot.press("r")
    await type_text(pilot, "erin lives at nine elm street")
    await until(pilot, lambda: bool(rows(workspace, "SELECT 1 FROM draft WHERE ticket_id = ?", ticket_id)))
    await settle(pilot)
    requester = rows(workspace, "SELECT requester_id FROM ticket WHERE id = ?", ticket_id)[0][0]
    write.apply(workspace, "customer.erase", {"customer_id": requester}, actor=SYSTEM)
    return screen, ticket_id


async def test_attack22_quitting_does_not_write_back_the_draft_of_an_erased_customer(
    make_app: AppFactory, console_workspace: Workspace
) -> None:
    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        _screen, ticket_id = await erase_while_drafting(pilot, app, console_workspace)
        assert not rows(console_workspace, "SELECT 1 FROM draft WHERE ticket_id = ?", ticket_id)
        await settle(pilot)
    left = rows(console_workspace, "SELECT body FROM draft WHERE ticket_id = ?", ticket_id)
    assert not left, [row[0] for row in left]
    assert not rows(console_workspace, "SELECT 1 FROM draft WHERE body LIKE '%nine elm%'")


async def test_a_composer_open_during_the_erasure_does_not_write_the_draft_back(
    make_app: AppFactory, console_workspace: Workspace
) -> None:
    """The composer was open when the erasure ran: its next saves — more typing, Escape — must
    not put the erased customer's words back; the agent is told once, and the text stays in
    the composer (nothing typed is lost from the screen)."""
    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        screen, ticket_id = await erase_while_drafting(pilot, app, console_workspace)
        await type_text(pilot, " and more")

        def told() -> bool:
            return any("customer was erased" in str(n.message) for n in app._notifications)

        await until(pilot, told)
        assert "nine elm street and more" in screen.composer.text
        await pilot.press("escape")
        await settle(pilot)
        assert not rows(console_workspace, "SELECT 1 FROM draft WHERE ticket_id = ?", ticket_id)
        assert sum("customer was erased" in str(n.message) for n in app._notifications) == 1
    assert not rows(console_workspace, "SELECT 1 FROM draft WHERE body LIKE '%nine elm%'")
