"""Merging two customers from the console's customer panel: search, choose who stays, merge."""

from __future__ import annotations

from supportdesk.store.workspace import Workspace
from supportdesk.tui.screens.customer_picker import CustomerPickerScreen
from supportdesk.tui.screens.forms import PickerScreen
from tests.tui.conftest import AppFactory, settle, until
from tests.tui.test_flows import open_first, rows, type_text


async def test_merge_a_customer_found_by_address_into_the_requester(
    make_app: AppFactory, console_workspace: Workspace
) -> None:
    app = make_app()
    async with app.run_test(size=(150, 45)) as pilot:
        screen, ticket_id = await open_first(pilot, app)
        requester = rows(console_workspace, "SELECT requester_id FROM ticket WHERE id = ?", ticket_id)[0][0]
        other, address = rows(
            console_workspace,
            "SELECT c.id, i.value FROM customer c JOIN identity i ON i.customer_id = c.id AND i.kind = 'email' "
            "WHERE c.id != ? AND (SELECT count(*) FROM ticket t WHERE t.requester_id = c.id) >= 2 "
            "ORDER BY c.id LIMIT 1",
            requester,
        )[0]
        theirs = {r[0] for r in rows(console_workspace, "SELECT id FROM ticket WHERE requester_id = ?", other)}
        before = len(screen.query_one("CustomerPanel").ticket_ids)

        await pilot.press("i", "M")
        picker = app.screen
        assert isinstance(picker, CustomerPickerScreen)
        await type_text(pilot, address[:-2])
        await until(pilot, lambda: [hit.id for hit in picker.hits] == [other])
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, PickerScreen))
        await pilot.press("enter")  # the first choice: keep the ticket's requester
        await until(
            pilot, lambda: bool(rows(console_workspace, "SELECT 1 FROM customer WHERE merged_into_id = ?", requester))
        )
        await settle(pilot)

        assert rows(console_workspace, "SELECT merged_into_id FROM customer WHERE id = ?", other)[0][0] == requester
        moved = {r[0] for r in rows(console_workspace, "SELECT id FROM ticket WHERE requester_id = ?", requester)}
        assert theirs <= moved
        await until(pilot, lambda: len(screen.query_one("CustomerPanel").ticket_ids) == before + len(theirs))
        assert any("merged into" in str(n.message) for n in app._notifications)


async def test_the_picker_finds_nobody_and_escape_changes_nothing(
    make_app: AppFactory, console_workspace: Workspace
) -> None:
    app = make_app()
    async with app.run_test(size=(150, 45)) as pilot:
        await open_first(pilot, app)
        await pilot.press("i", "M")
        picker = app.screen
        assert isinstance(picker, CustomerPickerScreen)
        await type_text(pilot, "[@click=app.quit]zz")
        await until(pilot, lambda: picker.query_one("#picker-list").empty == "nobody matches")
        await pilot.press("enter", "escape")
        await settle(pilot)
        assert app.is_running
        assert not rows(console_workspace, "SELECT 1 FROM customer WHERE merged_into_id IS NOT NULL")


async def test_two_records_of_one_name_are_told_apart_in_the_choice(
    make_app: AppFactory, console_workspace: Workspace
) -> None:
    """Two records with the same name (the usual duplicate): the choices name their addresses."""
    from supportdesk.domain import write
    from supportdesk.domain.context import SYSTEM

    app = make_app()
    async with app.run_test(size=(150, 45)) as pilot:
        _, ticket_id = await open_first(pilot, app)
        requester, name = rows(
            console_workspace,
            "SELECT c.id, c.name FROM ticket t JOIN customer c ON c.id = t.requester_id WHERE t.id = ?",
            ticket_id,
        )[0]
        other, address = rows(
            console_workspace,
            "SELECT c.id, i.value FROM customer c JOIN identity i ON i.customer_id = c.id AND i.kind = 'email' "
            "WHERE c.id != ? ORDER BY c.id LIMIT 1",
            requester,
        )[0]
        write.apply(console_workspace, "customer.update", {"customer_id": other, "name": name}, actor=SYSTEM)
        await settle(pilot)
        await pilot.press("i", "M")
        picker = app.screen
        assert isinstance(picker, CustomerPickerScreen)
        await type_text(pilot, address[:-2])
        await until(pilot, lambda: [hit.id for hit in picker.hits] == [other])
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, PickerScreen))
        labels = [choice.label for choice in app.screen.choices]  # type: ignore[attr-defined]
        assert len(set(labels)) == 2, labels
        assert f"<{address}>" in labels[1] and name in labels[0] and name in labels[1]
        await pilot.press("escape")
