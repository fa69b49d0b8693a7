"""The ticket actions are written once and behave the same from the queue and from the ticket pane."""

from __future__ import annotations

import inspect

import pytest

from supportdesk.store.workspace import Workspace
from supportdesk.tui.screens.queue import QueueScreen
from supportdesk.tui.screens.ticket import TicketScreen
from supportdesk.tui.ticket_actions import TicketActions
from tests.tui.conftest import AppFactory, settle, until
from tests.tui.test_flows import open_first, queue_of, rows

SHARED_ACTIONS = (
    "solve",
    "assign_me",
    "open_ticket",
    "reply",
    "note",
    "macros",
    "knowledge_base",
    "log_call",
    "snooze",
)


def test_each_ticket_action_has_one_implementation() -> None:
    for screen in (QueueScreen, TicketScreen):
        assert issubclass(screen, TicketActions)
        for name in SHARED_ACTIONS:
            owner = next(cls for cls in inspect.getmro(screen) if f"action_{name}" in vars(cls))
            assert owner is TicketActions, (screen.__name__, name)


def _status_and_assignee(workspace: Workspace, ticket_id: str) -> tuple[str, str | None]:
    row = rows(workspace, "SELECT status, assignee_id FROM ticket WHERE id = ?", ticket_id)[0]
    return row["status"], row["assignee_id"]


@pytest.mark.parametrize("where", ["queue", "ticket"])
async def test_take_then_solve_from_either_screen(
    make_app: AppFactory, console_workspace: Workspace, where: str
) -> None:
    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        row = queue_of(app).current_row
        assert row is not None and row.status != "solved"
        if where == "ticket":
            screen, _ = await open_first(pilot, app)
            assert isinstance(screen, TicketScreen)
        label = f"#{row.number}"
        await pilot.press("a")
        await until(pilot, lambda: _status_and_assignee(console_workspace, row.id)[1] == app.me)
        await pilot.press("s")
        await until(pilot, lambda: _status_and_assignee(console_workspace, row.id)[0] == "solved")
        said = [str(n.message) for n in app._notifications]
        assert f"{label} is yours" in said and f"{label} solved" in said
        if where == "ticket":  # the pane shows the change at once (it re-reads after its own write)
            await until(pilot, lambda: app.screen.data.detail.ticket["status"] == "solved")  # type: ignore[attr-defined]


async def test_keys_in_the_pane_open_the_composer_and_panels_on_the_spot(make_app: AppFactory) -> None:
    """``r`` in the pane goes the same way as ``r`` in the queue (the console's ticket_screen), and
    opens the composer without leaving or reloading the pane."""
    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        screen, ticket_id = await open_first(pilot, app)
        assert isinstance(screen, TicketScreen)
        depth = len(app.screen_stack)
        await pilot.press("r")
        await settle(pilot)
        assert app.screen is screen and len(app.screen_stack) == depth and screen.ticket_id == ticket_id
        assert screen.composer.is_open and screen.composer.kind == "reply"
        await pilot.press("escape")
        screen.timeline.focus()
        await pilot.press("m")
        await settle(pilot)
        assert screen.query_one("ContentSwitcher").current == "macros"
        await pilot.press("escape")
        screen.timeline.focus()
        await pilot.press("K")
        await settle(pilot)
        assert screen.query_one("ContentSwitcher").current == "kb"


async def test_a_call_from_the_pane_is_logged_on_its_ticket_with_the_requesters_number(
    make_app: AppFactory, console_workspace: Workspace
) -> None:
    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        screen, ticket_id = await open_first(pilot, app)
        before = rows(console_workspace, "SELECT count(*) AS n FROM message WHERE ticket_id = ?", ticket_id)[0]["n"]
        await pilot.press("c")
        await settle(pilot)
        form = app.screen
        number = form.query_one("#call-number").value  # type: ignore[attr-defined]
        if not number:
            form.query_one("#call-number").value = "+44 20 7946 0000"  # type: ignore[attr-defined]
        form.query_one("#call-duration").value = "2:30"  # type: ignore[attr-defined]
        form.query_one("#call-notes").value = "Walked through the refund"  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        await until(
            pilot,
            lambda: (
                rows(console_workspace, "SELECT count(*) AS n FROM message WHERE ticket_id = ?", ticket_id)[0]["n"]
                == before + 1
            ),
        )
        assert app.screen is screen
