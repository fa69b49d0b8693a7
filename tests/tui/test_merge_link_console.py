"""``M`` merges a ticket into another and ``L`` links it to its problem, from the queue or the pane,
with the CLI's checks: different requesters need a yes."""

from __future__ import annotations

from supportdesk.store.workspace import Workspace
from supportdesk.tui.screens.forms import ConfirmScreen, PromptScreen
from tests.tui.conftest import AppFactory, settle, until
from tests.tui.test_flows import open_first, rows, type_text


async def test_merge_into_a_ticket_of_another_requester_asks_first(
    make_app: AppFactory, console_workspace: Workspace
) -> None:
    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        screen, ticket_id = await open_first(pilot, app)
        requester = rows(console_workspace, "SELECT requester_id FROM ticket WHERE id = ?", ticket_id)[0][0]
        target_id, number = rows(
            console_workspace,
            "SELECT id, number FROM ticket WHERE requester_id != ? AND status IN ('open', 'pending') "
            "AND merged_into_id IS NULL ORDER BY number LIMIT 1",
            requester,
        )[0]
        await pilot.press("M")
        await until(pilot, lambda: isinstance(app.screen, PromptScreen))
        await type_text(pilot, str(number))
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")  # no: nothing merged
        await settle(pilot)
        assert rows(console_workspace, "SELECT merged_into_id FROM ticket WHERE id = ?", ticket_id)[0][0] is None
        await pilot.press("M")
        await until(pilot, lambda: isinstance(app.screen, PromptScreen))
        await type_text(pilot, str(number))
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await until(
            pilot,
            lambda: (
                rows(console_workspace, "SELECT merged_into_id FROM ticket WHERE id = ?", ticket_id)[0][0] == target_id
            ),
        )
        assert rows(console_workspace, "SELECT status FROM ticket WHERE id = ?", ticket_id)[0][0] == "closed"
        assert any(f"merged into #{number}" in str(n.message) for n in app._notifications)
        assert screen is not None


async def test_link_from_the_queue_and_refusals_are_notifications(
    make_app: AppFactory, console_workspace: Workspace
) -> None:
    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        queue = app.screen.queue  # type: ignore[attr-defined]

        def is_problem() -> bool:
            return bool(
                rows(console_workspace, "SELECT type = 'problem' FROM ticket WHERE id = ?", queue.current_row.id)[0][0]
            )

        for _ in range(20):  # a row that is not itself a problem
            if not is_problem():
                break
            await pilot.press("j")
            await settle(pilot)
        row = queue.current_row
        assert row is not None and not is_problem()
        problem_id, number = rows(
            console_workspace,
            "SELECT id, number FROM ticket WHERE id != ? AND status NOT IN ('closed') AND merged_into_id IS NULL "
            "AND type = 'problem' ORDER BY number LIMIT 1",  # the row under the cursor is not one (checked below)
            row.id,
        )[0]
        not_a_problem = rows(
            console_workspace, "SELECT number FROM ticket WHERE type = 'question' AND id != ? LIMIT 1", row.id
        )[0][0]
        await pilot.press("L")  # a question is not a problem: the mutation refuses, as in the CLI
        await until(pilot, lambda: isinstance(app.screen, PromptScreen))
        await type_text(pilot, str(not_a_problem))
        await pilot.press("enter")
        await settle(pilot)
        await until(pilot, lambda: any("not a problem" in str(n.message) for n in app._notifications))
        assert not any("linked to problem" in str(n.message) for n in app._notifications)  # refused: not said done
        await pilot.press("L")
        await until(pilot, lambda: isinstance(app.screen, PromptScreen))
        await type_text(pilot, "99999")  # no such ticket: said, nothing written
        await pilot.press("enter")
        await settle(pilot)
        assert any("no ticket 99999" in str(n.message) for n in app._notifications)
        await pilot.press("L")
        await until(pilot, lambda: isinstance(app.screen, PromptScreen))
        await type_text(pilot, str(number))
        await pilot.press("enter")
        await until(
            pilot,
            lambda: rows(console_workspace, "SELECT problem_id FROM ticket WHERE id = ?", row.id)[0][0] == problem_id,
        )
        await pilot.press("L")
        await until(pilot, lambda: isinstance(app.screen, PromptScreen))
        await type_text(pilot, "none")
        await pilot.press("enter")
        await until(
            pilot, lambda: rows(console_workspace, "SELECT problem_id FROM ticket WHERE id = ?", row.id)[0][0] is None
        )
