"""The console's rough edges of issue 17, each reproduced through the pilot."""

from __future__ import annotations

import pytest
from textual.pilot import Pilot

from supportdesk.store import reads
from supportdesk.store.workspace import Workspace
from supportdesk.tui.screens.queue import QueueScreen
from supportdesk.tui.screens.ticket import TicketScreen
from supportdesk.tui.widgets.queue_columns import column_starts
from supportdesk.tui.widgets.queue_view import QueueHeader
from tests.tui.conftest import AppFactory, settle, until
from tests.tui.test_layout import find, screen_lines
from tests.tui.test_flows import queue_of, rows


@pytest.mark.parametrize("opened_before", [True, False])
@pytest.mark.parametrize("keys", [("s", "m"), ("a", "s", "m"), ("s", "a", "enter")])
async def test_the_pane_shows_what_queue_actions_changed(
    make_app: AppFactory, console_workspace: Workspace, opened_before: bool, keys: tuple[str, ...]
) -> None:
    """Solve from the queue, then open the pane on the same row at once: it shows solved."""
    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        queue_screen = app.screen
        assert isinstance(queue_screen, QueueScreen)
        queue_screen.show_view(None)  # every ticket: a solved one stays in the queue
        await settle(pilot)
        row = queue_of(app).current_row
        assert row is not None and row.status != "solved"
        # the pane was opened once before (it is kept and reused)
        if opened_before:
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, TicketScreen) and app.screen.data is not None)
            await pilot.press("escape")
            await settle(pilot)
        await pilot.press(*keys)
        await until(
            pilot,
            lambda: rows(console_workspace, "SELECT status FROM ticket WHERE id = ?", row.id)[0]["status"] == "solved",
        )
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, TicketScreen) and screen.ticket_id == row.id
        await until(pilot, lambda: screen.data is not None)
        ticket = screen.data.detail.ticket  # type: ignore[union-attr]
        print([str(n.message) for n in app._notifications])
        assert ticket["status"] == "solved"
        header = str(screen.query_one("#ticket-header").render())
        assert "solved" in header, header


def _painted_title_starts(pilot: Pilot[None], screen: QueueScreen) -> dict[str, int]:
    """Where the titles are on the screen as painted (the header's line of the composed screen)."""
    header = screen.query_one(QueueHeader)
    lines = screen_lines(pilot)
    cells = lines[header.region.y]
    x0 = screen.queue.region.x
    return {key: find(cells, title) - x0 for key, title in (("status", "Status"), ("requester", "Requester"))}


async def test_the_queue_header_stays_over_its_columns_when_the_scrollbar_comes_and_goes(make_app: AppFactory) -> None:
    """A short queue has no scrollbar, a long one has: the titles move with the columns."""
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, QueueScreen)
        for query, scrollbar in (("", True), ("status<solved", False)):
            screen.queue.set_plan(reads.plan_queue(query, me=app.me))
            await until(pilot, lambda: screen.queue.model is not None and screen.queue.total is not None)
            await settle(pilot)
            await pilot.pause()
            assert screen.queue.show_vertical_scrollbar is scrollbar, query
            starts = column_starts(screen.queue.columns)
            titles = _painted_title_starts(pilot, screen)
            assert titles and all(titles[key] == starts[key] for key in titles), (query, titles, starts)
        # and back to the long one
        screen.queue.set_plan(reads.plan_queue("", me=app.me))
        await until(pilot, lambda: screen.queue.model is not None and screen.queue.total is not None)
        await settle(pilot)
        starts = column_starts(screen.queue.columns)
        titles = _painted_title_starts(pilot, screen)
        assert all(titles[key] == starts[key] for key in titles), (titles, starts)
