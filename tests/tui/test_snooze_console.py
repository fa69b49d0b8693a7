"""``Z`` snoozes from the queue and the pane; the console brings its agent's snoozes back on top."""

from __future__ import annotations

from datetime import timedelta

from supportdesk.store.times import from_db
from supportdesk.store.workspace import Workspace
from supportdesk.tui.screens.forms import PickerScreen, PromptScreen
from supportdesk.tui.screens.ticket import TicketScreen
from tests.conftest import TestClock
from tests.tui.conftest import AppFactory, settle, until
from tests.tui.test_flows import open_first, rows, show_view, type_text


def _snooze(workspace: Workspace, ticket_id: str) -> tuple[object, object]:
    found = rows(workspace, "SELECT snoozed_until, snoozed_by_id FROM ticket WHERE id = ?", ticket_id)[0]
    return found[0], found[1]


async def test_z_in_the_queue_snoozes_the_row_and_it_comes_back_on_top(
    make_app: AppFactory, console_workspace: Workspace, clock: TestClock
) -> None:
    app = make_app()
    async with app.run_test(size=(140, 40), notifications=True) as pilot:
        await settle(pilot)
        queue = await show_view(pilot, app, "All open")
        row = queue.current_row
        assert row is not None
        await pilot.press("Z")
        await until(pilot, lambda: isinstance(app.screen, PickerScreen))
        await type_text(pilot, "3 days")
        await pilot.press("enter")
        await until(pilot, lambda: _snooze(console_workspace, row.id)[0] is not None)
        snoozed_until, by = _snooze(console_workspace, row.id)
        assert by == app.me
        assert from_db(str(snoozed_until)) == app.now() + timedelta(days=3)
        await settle(pilot)
        await until(pilot, lambda: queue.model is not None and queue.model.find(row.id) is None and queue.total == 22)
        assert any(f"#{row.number} snoozed until" in str(n.message) for n in app._notifications)

        clock.advance(timedelta(days=3, minutes=1))
        app.check_snoozes()
        await until(pilot, lambda: _snooze(console_workspace, row.id) == (None, None))
        await settle(pilot)
        await until(pilot, lambda: queue.model is not None and queue.model.row(0) is not None)
        assert queue.model.row(0).id == row.id  # type: ignore[union-attr]  # back on top of updated-desc
        assert any(f"back from snooze: #{row.number}" in str(n.message) for n in app._notifications)


async def test_z_in_the_pane_takes_a_typed_time_and_offers_to_wake(
    make_app: AppFactory, console_workspace: Workspace
) -> None:
    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        screen, ticket_id = await open_first(pilot, app)
        assert isinstance(screen, TicketScreen)
        await pilot.press("Z")
        await until(pilot, lambda: isinstance(app.screen, PickerScreen))
        await type_text(pilot, "Another")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, PromptScreen))
        await type_text(pilot, "someday")  # not a time: one notification, nothing written
        await pilot.press("enter")
        await settle(pilot)
        assert any("is not a time to snooze until" in str(n.message) for n in app._notifications)
        assert _snooze(console_workspace, ticket_id) == (None, None)
        await pilot.press("Z")
        await until(pilot, lambda: isinstance(app.screen, PickerScreen))
        await type_text(pilot, "Another")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, PromptScreen))
        await type_text(pilot, "tomorrow 14:00")
        await pilot.press("enter")
        await until(pilot, lambda: _snooze(console_workspace, ticket_id)[0] is not None)
        await until(pilot, lambda: screen.data is not None and screen.data.detail.ticket["snoozed_until"] is not None)
        await pilot.press("Z")
        await until(pilot, lambda: isinstance(app.screen, PickerScreen))
        picker = app.screen
        assert isinstance(picker, PickerScreen) and picker.choices[0].label == "Wake it now"
        await pilot.press("enter")
        await until(pilot, lambda: _snooze(console_workspace, ticket_id) == (None, None))
        assert any("is back in the worklists" in str(n.message) for n in app._notifications)


async def test_h_in_the_pane_shows_the_change_history_with_its_source(
    make_app: AppFactory, console_workspace: Workspace
) -> None:
    from textual.widgets import Static

    from supportdesk.tui.screens.history import HistoryScreen

    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen, ticket_id = await open_first(pilot, app)
        await pilot.press("p")  # the priority picker: pick another value
        await until(pilot, lambda: isinstance(app.screen, PickerScreen))
        await type_text(pilot, "urgent")
        await pilot.press("enter")
        await until(
            pilot,
            lambda: rows(console_workspace, "SELECT priority FROM ticket WHERE id = ?", ticket_id)[0][0] == "urgent",
        )
        await settle(pilot)
        await pilot.press("H")
        await until(pilot, lambda: isinstance(app.screen, HistoryScreen))
        history = app.screen
        assert isinstance(history, HistoryScreen)
        last = history.changes[-1]
        assert (last.field, last.source, last.after) == ("priority", "console", "urgent") and last.who == app.me_name
        body = str(history.query_one("#history-body", Static).render())
        assert "console" in body and "priority" in body and "→ urgent" in body
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen
