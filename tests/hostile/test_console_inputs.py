"""Hostile text in the console (Textual's pilot on a real workspace): action markup and escape
sequences in customer text run nothing, copy nothing to the clipboard (OSC 52) and crash nothing;
what an agent types or pastes that is refused ends as a notification with the draft kept."""

from __future__ import annotations

import json
import sqlite3

import pytest
from textual import events
from textual.widgets import Static

from supportdesk.domain import write
from supportdesk.domain.context import SYSTEM
from supportdesk.store.ids import uuid7
from supportdesk.store.times import to_db
from supportdesk.store.workspace import Workspace
from supportdesk.tui.screens.queue import QueueScreen
from supportdesk.tui.screens.ticket import TicketScreen
from supportdesk.tui.widgets.filter_bar import FilterBar
from tests.conftest import DEMO_NOW
from tests.tui.conftest import AppFactory, _utc, console_template, console_workspace, make_app, settle, until
from tests.tui.test_hostile import filter_queue, no_terminal_bytes, screen_text

pytestmark = pytest.mark.integration

# the console's fixtures: a small demo copy per test, the clock standing at DEMO_NOW, times in UTC
__all__ = ["_utc", "console_template", "console_workspace", "make_app"]

#: Links a markup parser would turn into actions: copying to the clipboard, quitting, ringing.
CLIPBOARD_LINK = "[@click=app.copy_to_clipboard('pwned')]Refund here[/]"
QUIT_LINK = "[@click=app.quit]Click me[/]"
BELL_LINK = "[@click=app.bell]ring[/]"
OSC52 = "\x1b]52;c;cHduZWQ=\x07"  # "pwned", straight to the terminal's clipboard


def plant_clickable_ticket(workspace: Workspace) -> int:
    """A ticket written straight into the file (no ingest sanitising): every customer field holds
    action links and an OSC 52 sequence."""
    now = to_db(DEMO_NOW)
    customer, ticket = uuid7(), uuid7()
    number = 99998
    with workspace.reading() as reader:
        group = reader.execute("SELECT id FROM groups LIMIT 1").fetchone()[0]
    connection = workspace.connect()
    try:
        connection.execute(
            "INSERT INTO customer (id, name, notes, locale, created_at, updated_at) VALUES (?, ?, ?, 'en', ?, ?)",
            (customer, f"{CLIPBOARD_LINK} {OSC52}Eve", f"{QUIT_LINK} {BELL_LINK}", now, now),
        )
        connection.execute(
            "INSERT INTO identity (id, customer_id, kind, value, is_primary, created_at) "
            "VALUES (?, ?, 'email', 'eve@evil.example', 1, ?)",
            (uuid7(), customer, now),
        )
        connection.execute(
            "INSERT INTO ticket (id, number, subject, status, priority, type, channel, group_id, requester_id, fields, "
            "created_at, updated_at) VALUES (?, ?, ?, 'open', 'urgent', 'question', 'email', ?, ?, '{}', ?, ?)",
            (ticket, number, f"{CLIPBOARD_LINK} {OSC52}{QUIT_LINK}", group, customer, now, now),
        )
        connection.execute(
            "INSERT INTO message (id, ticket_id, channel, direction, public, author_kind, author_customer_id, body, "
            "meta, created_at) VALUES (?, ?, 'email', 'inbound', 1, 'customer', ?, ?, ?, ?)",
            (
                uuid7(),
                ticket,
                customer,
                "\n".join([CLIPBOARD_LINK, OSC52 + "copied?", QUIT_LINK, BELL_LINK] * 3),
                json.dumps({"from": "eve@evil.example"}),
                now,
            ),
        )
    finally:
        connection.close()
    return number


async def test_action_links_in_customer_text_run_nothing_and_never_write_the_clipboard(
    make_app: AppFactory, console_workspace: Workspace
) -> None:
    number = plant_clickable_ticket(console_workspace)
    app = make_app()
    bells: list[bool] = []
    app.bell = lambda: bells.append(True)  # type: ignore[method-assign]
    async with app.run_test(size=(200, 50)) as pilot:
        await settle(pilot)
        app.screen.show_view(None)  # type: ignore[attr-defined]
        queue = await filter_queue(pilot, app, f"number:{number}")
        assert queue.total == 1
        subject_x = sum(c.width + 1 for c in queue.columns[:2]) + 1
        for x in (subject_x, subject_x + 3, subject_x + 12, subject_x + 30):  # on the subject's "links"
            await pilot.click(queue, offset=(x, 0))
            if isinstance(app.screen, TicketScreen):
                await pilot.press("escape")
                await settle(pilot)
        await filter_queue(pilot, app, f"number:{number}")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, TicketScreen) and app.screen.data is not None)
        await settle(pilot)
        text = screen_text(app)
        assert no_terminal_bytes(text)
        assert "[@click=app.copy_to_clipboard('pwned')]Refund here[/]" in text  # shown as written
        for widget in ("#ticket-header", "#customer-card", "Timeline"):
            region = app.screen.query_one(widget).region
            for y in range(region.y, min(region.bottom, region.y + 3, 50)):
                for x in (2, 8, 20):  # the links start their lines
                    await pilot.click(offset=(region.x + x, y))
        await settle(pilot)
        assert app.clipboard == "", app.clipboard
        assert bells == []
        assert app.is_running and app.return_code is None


async def test_a_refused_reply_full_of_escapes_keeps_its_draft_as_typed(
    make_app: AppFactory, console_workspace: Workspace
) -> None:
    pasted = f"Dear customer {OSC52}\x1b[2J{QUIT_LINK} \u202eevil\nsecond line"
    app = make_app()
    async with app.run_test(size=(160, 44)) as pilot:
        await settle(pilot)
        row = app.screen.queue.current_row  # type: ignore[attr-defined]
        assert row is not None
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, TicketScreen) and app.screen.data is not None)
        screen = app.screen
        assert isinstance(screen, TicketScreen)
        await pilot.press("r")
        await until(pilot, lambda: screen.composer.is_open)
        app.post_message(events.Paste(pasted))  # as the terminal delivers a paste
        await until(pilot, lambda: "second line" in screen.composer.text)
        typed = screen.composer.text
        assert typed.startswith("Dear customer") and QUIT_LINK in typed
        # the customer writes again meanwhile: the reply is refused as stale
        write.apply(console_workspace, "ticket.receive", {"ticket_id": row.id, "body": "hello?"}, actor=SYSTEM)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: any("newer message" in str(n.message) for n in app._notifications))
        assert all(not n.markup for n in app._notifications)
        assert screen.composer.is_open and screen.composer.text == typed  # nothing of the draft lost
        with console_workspace.reading() as reader:
            assert not reader.execute("SELECT 1 FROM message WHERE body LIKE 'Dear customer%'").fetchall()
        await settle(pilot)
        assert app.clipboard == "" and app.is_running
        # sent again, it is stored with its escapes made visible, never as terminal bytes
        await pilot.press("ctrl+s")
        await until(pilot, lambda: not screen.composer.is_open)
        with console_workspace.reading() as reader:
            (body,) = reader.execute("SELECT body FROM message WHERE body LIKE 'Dear customer%'").fetchone()
        assert no_terminal_bytes(body) and QUIT_LINK in body and body.endswith("second line")


@pytest.mark.parametrize(
    ("query", "words"),
    [
        pytest.param("status:[@click=app.quit]x", "is not a status", id="markup"),
        pytest.param("(" * 2100, "too long", id="too-long"),
        pytest.param("number:" + "9" * 30, "is not a ticket number", id="huge-number"),
    ],
)
async def test_a_hostile_filter_is_shown_in_place_as_text_and_the_queue_stays(
    make_app: AppFactory, query: str, words: str
) -> None:
    app = make_app()
    async with app.run_test(size=(160, 44)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, QueueScreen)
        before = screen.queue.total
        await pilot.press("slash")
        await settle(pilot)
        assert app.focused is not None
        app.post_message(events.Paste(query))
        await settle(pilot)
        await pilot.press("enter")
        bar = screen.query_one(FilterBar)
        error_line = bar.query_one("#filter-error", Static)
        await until(pilot, lambda: words in str(error_line.render()))
        assert bar.text == query  # the query stays as typed, to be corrected
        await settle(pilot)
        assert isinstance(app.screen, QueueScreen) and app.screen.queue.total == before
        assert screen.filter_text == ""
        assert app.is_running and app.return_code is None and app.clipboard == ""


def test_the_planted_ticket_really_holds_raw_bytes(console_workspace: Workspace) -> None:
    """The console tests above prove something only if the file holds the raw sequences."""
    number = plant_clickable_ticket(console_workspace)
    with sqlite3.connect(console_workspace.db_path) as connection:
        (subject,) = connection.execute("SELECT subject FROM ticket WHERE number = ?", (number,)).fetchone()
    assert OSC52 in subject and CLIPBOARD_LINK in subject
