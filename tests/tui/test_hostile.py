"""Hostile customer text: shown literally, never run, never reaching the terminal as bytes.

Two sources: the demo's tickets from mallory@evil.example (sanitised at ingest like real mail)
and rows written straight into the file with sqlite3, bypassing every ingest rule, to prove
the console is safe at display time too.
"""

from __future__ import annotations

import json

from textual.widgets import Static

from supportdesk.demo.content import HOSTILE_SUBJECTS
from supportdesk.store.ids import uuid7
from supportdesk.store.times import to_db
from supportdesk.store.workspace import Workspace
from supportdesk.tui.screens.queue import QueueScreen
from supportdesk.tui.screens.ticket import TicketScreen
from supportdesk.tui.widgets.queue_view import QueueView
from tests.conftest import DEMO_NOW
from tests.tui.conftest import AppFactory, settle, until

TERMINAL_BYTES = ("\x1b", "\x07", "\x9b", "\x9d", "\x85", "\u202e", "\x00")
MARKUP = ("[@click=app.quit]", "[$accent @click=app.quit]", "[ @click=app.quit]", "[/]", "[bold")


def no_terminal_bytes(text: str) -> bool:
    return not any(byte in text for byte in TERMINAL_BYTES)


def queue_text(queue: QueueView) -> str:
    return "\n".join(queue.render_line(y).text for y in range(queue.scrollable_content_region.height))


def screen_text(app: object) -> str:
    """Every line the screen's widgets would draw, as plain text."""
    screen = app.screen  # type: ignore[attr-defined]
    parts = []
    for widget in screen.query("*"):
        if hasattr(widget, "render_line") and widget.__class__.__name__ in (
            "QueueView",
            "Timeline",
            "RowList",
            "ViewsList",
            "CustomerTickets",
        ):
            parts.extend(widget.render_line(y).text for y in range(widget.size.height))
        elif isinstance(widget, Static):
            parts.append(str(widget.render()))
    return "\n".join(parts)


async def filter_queue(pilot, app, query: str) -> QueueView:  # type: ignore[no-untyped-def]
    await settle(pilot)
    await pilot.press("slash", *["space" if c == " " else c for c in query], "enter")
    await settle(pilot)
    screen = app.screen
    assert isinstance(screen, QueueScreen)
    return screen.queue


async def test_demo_hostile_tickets_show_literally_everywhere(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(200, 50)) as pilot:
        await settle(pilot)
        app.screen.show_view(None)  # type: ignore[attr-defined]
        queue = await filter_queue(pilot, app, "requester:mallory@evil.example sort:number-asc")
        assert queue.total == len(HOSTILE_SUBJECTS)
        shown = queue_text(queue)
        assert no_terminal_bytes(shown)
        for markup in (
            "[@click=app.quit]Click here for your refund[/]",
            "[$accent @click=app.quit]Invoice overdue",
            "[ @click=app.quit]x [/] [bold unclosed",
        ):
            assert markup in shown
        assert "⟨U+001B⟩[2J" in shown and "⟨U+202E⟩" in shown
        for index in range(len(HOSTILE_SUBJECTS)):
            queue.cursor = index
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, TicketScreen) and app.screen.data is not None)
            await settle(pilot)
            text = screen_text(app)
            assert no_terminal_bytes(text), index
            assert "[@click=app.quit]Mallory [b]Hacker[/b]" in text  # the customer panel and the header
            assert "mallory@evil.example" in text
            await pilot.press("escape")
        assert app.is_running and app.return_code is None


async def test_clicking_hostile_text_runs_nothing(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(200, 50)) as pilot:
        await settle(pilot)
        app.screen.show_view(None)  # type: ignore[attr-defined]
        queue = await filter_queue(pilot, app, "requester:mallory@evil.example sort:number-asc")
        subject_x = sum(c.width + 1 for c in queue.columns[:2]) + 1
        for y in range(len(HOSTILE_SUBJECTS)):
            await pilot.click(queue, offset=(subject_x, y))
            await pilot.click(queue, offset=(subject_x + 4, y))
        await until(pilot, lambda: isinstance(app.screen, TicketScreen) and app.screen.data is not None)
        await settle(pilot)
        header = app.screen.query_one("#ticket-header")
        for x in range(0, 60, 3):
            await pilot.click(header, offset=(x, 0))
            await pilot.click(header, offset=(x, 2))
        await pilot.click("#customer-card", offset=(2, 0))
        assert app.is_running and app.return_code is None


async def test_hostile_text_in_a_notification_is_literal(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(160, 44)) as pilot:
        await settle(pilot)
        app.screen.show_view(None)  # type: ignore[attr-defined]
        await filter_queue(pilot, app, "requester:mallory@evil.example")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, TicketScreen) and app.screen.data is not None)
        await pilot.press("t", *"[@click=app.quit]x", "enter")
        await until(pilot, lambda: any("is not a tag" in str(n.message) for n in app._notifications))
        refused = next(n for n in app._notifications if "is not a tag" in str(n.message))
        assert "[@click=app.quit]x" in str(refused.message) and not refused.markup
        await settle(pilot)
        assert app.is_running and app.return_code is None


def insert_raw_hostile(workspace: Workspace) -> str:
    """A ticket whose every text field carries raw terminal bytes and markup, written with sqlite3."""
    now = to_db(DEMO_NOW)
    customer, ticket = uuid7(), uuid7()
    with workspace.reading() as reader:
        group = reader.execute("SELECT id FROM groups LIMIT 1").fetchone()[0]
    connection = workspace.connect()
    try:
        connection.execute(
            "INSERT INTO customer (id, name, notes, locale, created_at, updated_at) VALUES (?, ?, ?, 'en', ?, ?)",
            (customer, "\x1b]52;c;ZXZpbA==\x07[b]Raw[/b] \x9b31mName", "\x1b[2Jnotes", now, now),
        )
        connection.execute(
            "INSERT INTO identity (id, customer_id, kind, value, is_primary, created_at) "
            "VALUES (?, ?, 'email', ?, 1, ?)",
            (uuid7(), customer, "raw\x1b[31m@evil.example", now),
        )
        connection.execute(
            "INSERT INTO ticket (id, number, subject, status, priority, type, channel, group_id, requester_id, fields, "
            "created_at, updated_at) VALUES (?, 99999, ?, 'open', 'urgent', 'question', 'email', ?, ?, '{}', ?, ?)",
            (ticket, "\x1b[2J\x1b[H[@click=app.quit]Raw subject \u202eevil\x07", group, customer, now, now),
        )
        connection.execute(
            "INSERT INTO message (id, ticket_id, channel, direction, public, author_kind, author_customer_id, body, "
            "meta, created_at) VALUES (?, ?, 'email', 'inbound', 1, 'customer', ?, ?, ?, ?)",
            (
                uuid7(),
                ticket,
                customer,
                "Body \x1b]8;;https://evil.example\x1b\\link\x1b]8;;\x1b\\ [/] [bold \x85 \x9b2J\ton",
                json.dumps({"from": "raw@evil.example"}),
                now,
            ),
        )
    finally:
        connection.close()
    return ticket


async def test_raw_rows_are_made_safe_when_drawn(make_app: AppFactory, console_workspace: Workspace) -> None:
    insert_raw_hostile(console_workspace)
    app = make_app()
    async with app.run_test(size=(200, 50)) as pilot:
        await settle(pilot)
        app.screen.show_view(None)  # type: ignore[attr-defined]
        queue = await filter_queue(pilot, app, "number:99999")
        assert queue.total == 1
        shown = queue_text(queue)
        assert no_terminal_bytes(shown)
        assert "⟨U+001B⟩[2J⟨U+001B⟩[H[@click=app.quit]Raw subject ⟨U+202E⟩evil⟨U+0007⟩" in shown
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, TicketScreen) and app.screen.data is not None)
        await settle(pilot)
        text = screen_text(app)
        assert no_terminal_bytes(text)
        assert "⟨U+001B⟩]52;c;ZXZpbA==⟨U+0007⟩[b]Raw[/b] ⟨U+009B⟩31mName" in text
        assert "Body ⟨U+001B⟩]8;;https://evil.example⟨U+001B⟩\\link" in text
        assert "raw⟨U+001B⟩[31m@evil.example" in text
        svg = app.export_screenshot()
        assert "\x1b" not in svg and "\x9b" not in svg
        assert app.is_running
