"""SLA in the console on hand-made tickets with exact times: the queue's countdown column and
its colours, sorting by time to breach, the clocks in the ticket pane, and handle time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from rich.style import Style
from textual import events

from supportdesk.config import load_settings
from supportdesk.store.workspace import Workspace
from supportdesk.tui.app import SupportDeskApp
from supportdesk.tui.screens.queue import QueueScreen
from supportdesk.tui.screens.ticket import TicketScreen
from supportdesk.tui.widgets.queue_columns import column_starts
from supportdesk.tui.widgets.queue_view import QueueView
from tests.conftest import Team
from tests.timeline import at
from tests.tui.conftest import settle, until

#: Ages, countdowns and charts depend on the date: CI runs these a year ahead too.
pytestmark = pytest.mark.calendar

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@dataclass
class Clocks:
    """The app's wall clock and monotonic clock, wound by the test."""

    now: datetime = NOW
    seconds: float = 1000.0

    def wall(self) -> datetime:
        return self.now

    def mono(self) -> float:
        return self.seconds


@pytest.fixture
def sla_tickets(team: Team) -> dict[str, str]:
    """Five tickets under a round-the-clock policy (first reply 1 h, resolution 8 h), as of NOW."""
    ws = team.workspace
    at(
        ws,
        NOW - timedelta(days=30),
        "sla.policy.create",
        {"name": "Normal", "priority": "normal", "first_reply_minutes": 60, "resolution_minutes": 480},
    )

    def ticket(subject: str, created: datetime, **extra: object) -> str:
        args = {"subject": subject, "body": "Help", "requester": {"value": "kim@example.com"}, **extra}
        return str(at(ws, created, "ticket.create", {**args, "group_id": team.tier1})["ticket_id"])

    made = {
        "Due soon": ticket("Due soon", NOW - timedelta(minutes=30)),
        "Breached": ticket("Breached", NOW - timedelta(hours=3)),
        "Running": ticket("Running", NOW - timedelta(hours=6)),
        "Paused": ticket("Paused", NOW - timedelta(hours=1)),
        "No policy": ticket("No policy", NOW - timedelta(hours=4), priority="low"),
    }
    at(
        ws,
        NOW - timedelta(hours=5, minutes=50),
        "ticket.reply",
        {"ticket_id": made["Running"], "body": "On it"},
        team.agent,
    )
    at(
        ws,
        NOW - timedelta(minutes=50),
        "ticket.set_status",
        {"ticket_id": made["Paused"], "status": "pending"},
        team.agent,
    )
    return made


def console(workspace: Workspace, clocks: Clocks) -> SupportDeskApp:
    """The console on the hand-made workspace, on the test's clocks."""
    settings = load_settings(workspace.root)
    return SupportDeskApp(
        workspace,
        settings,
        clock=clocks.wall,
        monotonic=clocks.mono,
        poll_interval=3600.0,
        warm_up=False,
        strict_reads=True,
    )


def sla_column(queue: QueueView) -> dict[str, tuple[str, Style]]:
    """Each visible row's SLA cell as drawn: subject → (text, style of its first cell)."""
    start = column_starts(queue.columns)["sla"]
    width = next(c.width for c in queue.columns if c.key == "sla")
    cells = {}
    assert queue.model is not None
    for y in range(queue.model.height):
        row = queue.model.row(y)
        assert row is not None
        strip = queue.render_line(y - round(queue.scroll_y))
        text = strip.text[start : start + width].strip()
        x, style = 0, Style()
        for segment in strip:
            if x <= start < x + len(segment.text):
                style = segment.style or Style()
                break
            x += len(segment.text)
        cells[row.subject] = (text, style)
    return cells


async def open_queue(app: SupportDeskApp, pilot) -> QueueView:  # type: ignore[no-untyped-def]
    await settle(pilot)
    screen = app.screen
    assert isinstance(screen, QueueScreen)
    await until(pilot, lambda: screen.queue.model is not None and screen.queue.model.height == 5)
    await settle(pilot)
    return screen.queue


async def test_the_sla_column_counts_down_and_colours_each_state(team: Team, sla_tickets: dict[str, str]) -> None:
    clocks = Clocks()
    app = console(team.workspace, clocks)
    async with app.run_test(size=(150, 30)) as pilot:
        queue = await open_queue(app, pilot)
        app.screen.sidebar.row_list.focus()  # type: ignore[attr-defined]  # the focused cursor row has its own colours
        await pilot.pause()
        cells = sla_column(queue)
        assert {subject: text for subject, (text, _) in cells.items()} == {
            "Due soon": "30m",  # first reply due at 12:30
            "Breached": "-2h 00m",  # first reply was due at 10:00
            "Running": "2h 00m",  # replied; resolution due at 14:00
            "Paused": "paused",
            "No policy": "—",
        }

        def colour(name: str) -> object:
            return queue.get_component_rich_style(name, partial=True).color

        assert cells["Breached"][1].color == colour("queue--sla-breached")
        assert cells["Breached"][1].bold
        assert cells["Due soon"][1].color == colour("queue--sla-due")
        assert cells["Paused"][1].color == colour("queue--sla-paused")
        assert cells["Running"][1].color not in (colour("queue--sla-due"), colour("queue--sla-breached"))

        # the countdown moves with the clock, from the rows already loaded: no new query
        page = queue.model.pages[0]  # type: ignore[union-attr]
        clocks.now = NOW + timedelta(minutes=31)
        queue.tick()
        await pilot.pause()
        assert queue.model.pages[0] is page  # type: ignore[union-attr]
        cells = sla_column(queue)
        assert cells["Due soon"][0] == "-1m"  # breached at 12:30
        assert cells["Due soon"][1].color == colour("queue--sla-breached")
        assert cells["Running"][0] == "1h 29m"


async def test_sorting_by_time_to_breach(team: Team, sla_tickets: dict[str, str]) -> None:
    app = console(team.workspace, Clocks())
    async with app.run_test(size=(150, 30)) as pilot:
        queue = await open_queue(app, pilot)
        await pilot.press("slash", *"sort:sla-asc", "enter")
        await settle(pilot)
        order = [queue.model.row(i).subject for i in range(5)]  # type: ignore[union-attr]
        assert order[:3] == ["Breached", "Due soon", "Running"]  # deadlines 10:00, 12:30, 14:00
        assert set(order[3:]) == {"Paused", "No policy"}  # no running clock: last
        header = app.screen.query_one("#queue-header")
        assert "SLA↑" in header.render_line(0).text

        # clicking the column title sorts the same way
        app.screen.show_view(None)  # type: ignore[attr-defined]
        await settle(pilot)
        x = column_starts(queue.columns)["sla"] + 2
        await pilot.click("#queue-header", offset=(x, 0))
        await settle(pilot)
        assert [queue.model.row(i).subject for i in range(3)] == ["Breached", "Due soon", "Running"]  # type: ignore[union-attr]


async def open_ticket(app: SupportDeskApp, pilot, queue: QueueView, subject: str) -> TicketScreen:  # type: ignore[no-untyped-def]
    index = next(i for i in range(queue.model.height) if queue.model.row(i).subject == subject)  # type: ignore[union-attr]
    queue.cursor = index
    await pilot.press("enter")
    await until(pilot, lambda: isinstance(app.screen, TicketScreen) and app.screen.data is not None)
    await settle(pilot)
    screen = app.screen
    assert isinstance(screen, TicketScreen)
    return screen


def clock_lines(screen: TicketScreen) -> list[str]:
    return [" ".join(line.split()) for line in str(screen.query_one("#sla-clocks").render()).splitlines()]


#: What the pane says of each hand-made ticket's clocks at NOW (12:00; times are UTC here).
EXPECTED_CLOCKS = {
    "Running": [
        "SLA first reply target 1h 00m used 10m met",
        "resolution target 8h 00m used 6h 00m 2h 00m left running, due 14:00",
    ],
    "Breached": [
        "SLA first reply target 1h 00m used 3h 00m 2h 00m over breached 10:00",
        "resolution target 8h 00m used 3h 00m 5h 00m left running, due 17:00",
    ],
    "Paused": [
        "SLA first reply target 1h 00m used 10m 50m left paused",
        "resolution target 8h 00m used 10m 7h 50m left paused",
    ],
    "No policy": [],
}


async def test_the_ticket_pane_shows_every_clock(team: Team, sla_tickets: dict[str, str]) -> None:
    app = console(team.workspace, Clocks())
    async with app.run_test(size=(150, 40)) as pilot:
        queue = await open_queue(app, pilot)
        for subject, expected in EXPECTED_CLOCKS.items():
            screen = await open_ticket(app, pilot, queue, subject)
            if expected:
                assert clock_lines(screen) == expected, subject
            else:
                assert screen.query_one("#sla-clocks").has_class("-none")
            await pilot.press("escape")


# --- handle time ------------------------------------------------------------------------------


def handle_rows(workspace: Workspace) -> list[tuple[str, str, int]]:
    with workspace.reading() as connection:
        return [
            tuple(r)
            for r in connection.execute("SELECT ticket_id, agent_id, seconds FROM handle_time ORDER BY at, rowid")
        ]


async def test_handle_time_is_recorded_once_when_the_agent_leaves(team: Team, sla_tickets: dict[str, str]) -> None:
    clocks = Clocks()
    app = console(team.workspace, clocks)
    async with app.run_test(size=(150, 40)) as pilot:
        queue = await open_queue(app, pilot)
        await open_ticket(app, pilot, queue, "Running")
        clocks.seconds += 95
        await pilot.press("escape")
        await until(pilot, lambda: bool(handle_rows(team.workspace)))
        clocks.seconds += 300  # time in the queue is nobody's handle time
        await settle(pilot)
    assert handle_rows(team.workspace) == [(sla_tickets["Running"], team.agent.id, 95)]


async def test_handle_time_pauses_when_idle_or_unfocused_and_survives_quitting(
    team: Team, sla_tickets: dict[str, str]
) -> None:
    clocks = Clocks()
    app = console(team.workspace, clocks)
    async with app.run_test(size=(150, 40)) as pilot:
        queue = await open_queue(app, pilot)
        await open_ticket(app, pilot, queue, "Breached")
        clocks.seconds += 40
        await pilot.press("down")  # reading: input at +40
        clocks.seconds += 600  # away from the keyboard: counted up to the last key only
        app.handle_time.check_idle()
        clocks.seconds += 5
        await pilot.press("down")  # back: counting again
        clocks.seconds += 20
        app.post_message(events.AppBlur())  # the terminal lost focus
        await pilot.pause()
        clocks.seconds += 100
        app.post_message(events.AppFocus())
        await pilot.pause()
        clocks.seconds += 7
        # step to the next ticket of the queue: the first visit ends, a second begins
        await pilot.press("J")
        await settle(pilot)
        clocks.seconds += 12
        # quitting writes every counted second, the open ticket's too
        await app.action_quit()
    visits = {ticket: seconds for ticket, _, seconds in handle_rows(team.workspace)}
    assert visits[sla_tickets["Breached"]] == 40 + 20 + 7
    assert sum(visits.values()) == 40 + 20 + 7 + 12
    assert len(visits) == 2
    assert {agent for _, agent, _ in handle_rows(team.workspace)} == {team.agent.id}
