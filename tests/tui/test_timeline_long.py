"""A ticket of many messages opens on its latest message at once: the timeline lays out only the
last screenfuls exactly, then measures the blocks above after the first frame, so what the agent
scrolls to afterwards lines up with what was measured."""

from __future__ import annotations

from supportdesk.domain import write
from supportdesk.store.workspace import Workspace
from supportdesk.tui.widgets.timeline import FIRST_LINES
from tests.tui.conftest import AppFactory, settle, until
from tests.tui.test_timeline_channels import open_ticket

NOTES = 80


def long_ticket(workspace: Workspace) -> str:
    with workspace.reading() as connection:
        ticket_id = connection.execute(
            "SELECT id FROM ticket WHERE status = 'open' ORDER BY number LIMIT 1"
        ).fetchone()[0]
    for index in range(NOTES):
        body = "\n".join(f"note {index}, line {line}" for line in range(1 + index % 7))
        write.apply(workspace, "ticket.note", {"ticket_id": ticket_id, "body": body})
    return ticket_id


async def test_a_long_ticket_opens_on_its_latest_message_and_measures_the_rest(
    make_app: AppFactory, console_workspace: Workspace
) -> None:
    ticket_id = long_ticket(console_workspace)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_ticket(pilot, app, ticket_id)
        timeline = screen.timeline
        await until(pilot, lambda: all(block.lines for block in timeline.blocks))
        await settle(pilot)
        blocks = timeline.blocks
        assert sum(len(block.lines) for block in blocks) > FIRST_LINES  # more than the first layout covers
        # every block measured, and the starts are the running sum of the measured heights
        starts, y = [], 0
        for block in blocks:
            starts.append(y)
            y += len(block.lines)
        assert timeline._starts == starts
        assert timeline.virtual_size.height == y
        # the latest message is selected and on screen
        assert timeline.selected == len(blocks) - 1
        assert timeline.scroll_y <= starts[-1] < timeline.scroll_y + timeline.size.height
        assert "note 79, line 0" in [text for text, _ in blocks[-1].lines]
        # home reaches the first message, whose lines are where the layout says
        timeline.focus()
        await pilot.press("home")
        await settle(pilot)
        assert timeline.selected == 0
        assert timeline.scroll_y == 0
        assert str(timeline.render_line(0).text).startswith("▌ ")
