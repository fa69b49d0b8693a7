"""The console's rough edges of issue 17, each reproduced through the pilot."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable

import pytest
from textual.pilot import Pilot

from supportdesk.store import reads
from supportdesk.store.workspace import Workspace
from supportdesk.tui.screens.queue import QueueScreen
from supportdesk.tui.screens.ticket import TicketScreen
from supportdesk.tui.widgets.queue_columns import column_starts
from supportdesk.tui.widgets.queue_view import QueueHeader
from tests.tui.conftest import AppFactory, settle, until
from tests.tui.test_flows import open_first, queue_of, rows
from tests.tui.test_layout import find, screen_lines


@pytest.mark.parametrize(("opened_before", "keys"), [(True, ("s", "m")), (False, ("s", "a", "enter"))])
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


SMALL = (80, 24)


async def test_at_80x24_b_hides_the_saved_views_and_gives_the_queue_the_width(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, QueueScreen)
        assert screen.sidebar.display and screen.queue.region.x >= 29
        narrow = screen.queue.columns
        await pilot.press("b")
        await settle(pilot)
        assert not screen.sidebar.display and screen.queue.region.x == 0 and screen.queue.has_focus
        assert screen.queue.region.width == SMALL[0]
        width = {c.key: c.width for c in screen.queue.columns}
        assert len(screen.queue.columns) > len(narrow) or width["subject"] > narrow[-1].width
        await pilot.press("b")
        await settle(pilot)
        assert screen.sidebar.display and screen.queue.region.x >= 29
        await pilot.press("b", "v")  # v shows the views again to move into them
        await settle(pilot)
        assert screen.sidebar.display and screen.sidebar.row_list.has_focus


async def test_at_80x24_sla_lines_and_addresses_do_not_wrap(make_app: AppFactory) -> None:
    """Walk the open tickets in the pane: every clock is one line, every address one line."""
    from supportdesk.tui.widgets.customer_panel import CustomerPanel
    from supportdesk.tui.widgets.sla_clocks import SlaClocks, clocks_content

    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        screen, _ = await open_first(pilot, app)
        running = 0
        for _ in range(12):
            data = screen.data
            assert data is not None
            clocks = screen.query_one(SlaClocks)
            if data.clocks:
                lines = clocks_content(data.clocks, app.now(), compact=True).plain.split("\n")
                assert all(len(line) <= clocks.content_region.width for line in lines), lines  # nothing cut
                running += any("running" in line for line in lines)
                assert clocks.size.height == len(lines), lines
            card = screen.query_one(CustomerPanel).query_one("#customer-card")
            customer = data.customer
            assert customer is not None
            expected = 1 + bool(customer.organization) + len(customer.identities) + bool(customer.customer.get("notes"))
            assert card.size.height == expected
            await pilot.press("J")
            await until(pilot, lambda: screen.data is not None)
            await settle(pilot)
        assert running  # a running clock ("running, due 20 Nov 18:00") is the longest line


async def test_at_80x24_the_help_screen_does_not_wrap_a_binding(make_app: AppFactory) -> None:
    from rich.cells import cell_len
    from textual.widgets import Static

    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        body = app.screen.query_one("#help-body", Static)
        lines = str(body.render()).split("\n")
        long = [line for line in lines[:-1] if cell_len(line) > body.size.width]
        assert not long, long
        assert any(line.startswith("      Hide or show the saved views") for line in lines)


async def test_footer_keys_are_clickable(make_app: AppFactory, console_workspace: Workspace) -> None:
    from supportdesk.tui.widgets.key_bar import KeyBar

    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        row = queue_of(app).current_row
        assert row is not None and row.status != "solved"
        bar = app.screen.query_one(KeyBar)
        text = str(bar.render())
        x = text.index("s Solve") + bar.styles.padding.left
        await pilot.click(KeyBar, offset=(x + 2, 0))
        await until(
            pilot,
            lambda: rows(console_workspace, "SELECT status FROM ticket WHERE id = ?", row.id)[0]["status"] == "solved",
        )
        # in the pane, a click on Reply opens the composer
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, TicketScreen) and app.screen.data is not None)
        bar = app.screen.query_one(KeyBar)
        x = str(bar.render()).index("r Reply") + bar.styles.padding.left
        await pilot.click(KeyBar, offset=(x, 0))
        await settle(pilot)
        assert app.screen.composer.is_open and app.screen.composer.kind == "reply"  # type: ignore[attr-defined]


async def test_a_notification_leaves_the_composers_key_line_visible(make_app: AppFactory) -> None:
    from textual.widgets._toast import Toast

    app = make_app()
    async with app.run_test(size=SMALL, notifications=True) as pilot:
        screen, _ = await open_first(pilot, app)
        await pilot.press("r")
        await settle(pilot)
        hint = screen.query_one("#composer-hint")
        assert hint.region.height == 1
        app.notify("a long notification that takes two lines of the toast, or even three of them", timeout=30)
        await settle(pilot)
        await until(pilot, lambda: bool(screen.query(Toast)))
        await settle(pilot)
        for toast in screen.query(Toast):
            assert not toast.region.overlaps(hint.region), (toast.region, hint.region)
            assert not toast.region.overlaps(screen.composer.text_area.region)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("# Reset your password\n\nOpen the sign-in page\nand choose *Forgot*.\n\n## Steps\n\n1. x", None),
        ("Reset your password\n===================\n\nOpen the sign-in page and choose *Forgot*.", None),
        (
            "---\ntitle: x\n---\n<!-- draft -->\n# Title\n\n```\ncode\n```\nOpen the sign-in page and choose *Forgot*.",
            None,
        ),
        ("# Only a title", ""),
        ("", ""),
        ("# T\n\nEvil \x1b[2J text", "Evil ⟨U+001B⟩[2J text"),
    ],
)
def test_the_snippet_is_the_first_paragraph_not_the_heading(body: str, expected: str | None) -> None:
    from supportdesk.tui.text import first_paragraph

    wanted = "Open the sign-in page and choose *Forgot*." if expected is None else expected
    assert first_paragraph(body) == wanted


async def test_the_kb_snippet_key_inserts_the_first_paragraph(make_app: AppFactory) -> None:
    from supportdesk.tui.text import first_paragraph

    app = make_app()
    async with app.run_test(size=(150, 44)) as pilot:
        screen, _ = await open_first(pilot, app)
        await pilot.press("k")
        panel = screen.query_one("KBPanel")
        await until(pilot, lambda: bool(panel.hits) and panel.current is not None)  # type: ignore[attr-defined]
        article = app.db.article(panel.current.id)  # type: ignore[attr-defined]
        assert article is not None and article.body.startswith("# ")
        await pilot.press("ctrl+y")
        await until(pilot, lambda: screen.composer.is_open and article.slug in screen.composer.text)
        text = screen.composer.text
        assert "# " not in text and article.title not in text.split("\n")[0]
        lead = first_paragraph(article.body)
        assert len(lead) > 40 and text.startswith(lead)


# --- 1. a commit made while the console writes a local row is not lost ---------------------------
#
# The console notices other writers by SQLite's data_version, which moves once however many
# commits happened since it last looked. Marking a ticket seen (on every open) and saving a draft
# are local writes the console must not take as news; it used to absorb them by arithmetic
# ("after == before + 1"), so a commit that landed inside that window — the solve the agent had
# just made from the queue, or another process's change — was taken for the local write and no
# screen re-read: the pane kept "new, unassigned" for a ticket already solved and assigned.


def _running_in(thread: threading.Thread, function: str, module: str) -> bool:
    """Whether ``thread`` is inside ``module.function`` now (it is waiting there for the lock)."""
    frame = sys._current_frames().get(thread.ident or -1)
    while frame is not None:
        if frame.f_code.co_name == function and frame.f_code.co_filename.endswith(module):
            return True
        frame = frame.f_back
    return False


def _marking_thread() -> threading.Thread | None:
    for thread in threading.enumerate():
        if _running_in(thread, "mark_seen", "local_state.py"):
            return thread
    return None


async def _pause_until(pilot: Pilot[None], condition: Callable[[], object], what: str, timeout: float = 30.0) -> None:
    """Like ``until`` but without waiting for the workers (one of them is waiting for a lock)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.01)


def _wait(condition: Callable[[], object], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)


def test_a_commit_made_while_a_ticket_is_marked_seen_is_noticed(console_workspace: Workspace) -> None:
    from supportdesk.tui.db import ConsoleDB

    db = ConsoleDB(console_workspace)
    try:
        ticket_id = rows(console_workspace, "SELECT id FROM ticket WHERE status = 'open' LIMIT 1")[0]["id"]
        db.changed_elsewhere()
        other = console_workspace.connect()
        other.execute("BEGIN IMMEDIATE")
        other.execute("UPDATE ticket SET status = 'solved' WHERE id = ?", (ticket_id,))
        marking = threading.Thread(target=db.mark_seen, args=(ticket_id,))
        marking.start()
        # the console's local write waits for the lock the other writer holds
        _wait(lambda: _running_in(marking, "mark_seen", "local_state.py"), "the seen mark to wait for the lock")
        other.execute("COMMIT")
        other.close()
        marking.join(timeout=60)
        assert not marking.is_alive()
        assert db.changed_elsewhere(), "another connection's commit was taken for the console's own seen mark"
        assert not db.changed_elsewhere()  # and the console's own seen mark is not news
        db.mark_seen(ticket_id)
        assert not db.changed_elsewhere()
    finally:
        db.close()


async def test_the_pane_shows_a_change_committed_while_it_opened(
    make_app: AppFactory, console_workspace: Workspace
) -> None:
    """Another writer commits while the pane marks the ticket seen: the pane shows the change."""
    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        row = queue_of(app).current_row
        assert row is not None and row.status != "solved"
        other = console_workspace.connect()
        other.execute("BEGIN IMMEDIATE")
        other.execute("UPDATE ticket SET status = 'solved' WHERE id = ?", (row.id,))
        await pilot.press("enter")  # the pane reads the ticket as it is (not yet solved) and marks it seen
        await _pause_until(pilot, lambda: _marking_thread() is not None, "the seen mark to wait for the lock")
        other.execute("COMMIT")
        other.close()
        await _pause_until(pilot, lambda: _marking_thread() is None, "the seen mark to be written")
        app.check_store()  # what the console's poll does every half second
        screen = app.screen
        assert isinstance(screen, TicketScreen) and screen.ticket_id == row.id
        await until(
            pilot, lambda: screen.data is not None and screen.data.detail.ticket["status"] == "solved", timeout=30
        )
        await settle(pilot)
        assert "solved" in str(screen.query_one("#ticket-header").render())


async def test_solve_then_take_from_the_queue_while_the_pane_opens(
    make_app: AppFactory, console_workspace: Workspace
) -> None:
    """``s``, then ``a``, then ``enter``, with the store busy so the writes and the seen mark
    overlap: the pane ends up showing the ticket solved and assigned to me."""
    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        queue_screen = app.screen
        assert isinstance(queue_screen, QueueScreen)
        queue_screen.show_view(None)
        await settle(pilot)
        row = queue_of(app).current_row
        assert row is not None and row.status != "solved"
        busy = console_workspace.connect()
        busy.execute("BEGIN IMMEDIATE")  # another process writing: everything waits for it
        await pilot.press("s", "a", "enter")
        await _pause_until(pilot, lambda: _marking_thread() is not None, "the seen mark to wait for the lock")
        busy.execute("ROLLBACK")
        busy.close()
        await until(
            pilot,
            lambda: (
                tuple(rows(console_workspace, "SELECT status, assignee_id FROM ticket WHERE id = ?", row.id)[0])
                == ("solved", app.me)
            ),
            timeout=60,
        )
        screen = app.screen
        assert isinstance(screen, TicketScreen) and screen.ticket_id == row.id
        await until(
            pilot,
            lambda: (
                screen.data is not None
                and screen.data.detail.ticket["status"] == "solved"
                and screen.data.detail.ticket["assignee_id"] == app.me
            ),
            timeout=30,
        )
        await settle(pilot)
        header = str(screen.query_one("#ticket-header").render())
        assert "solved" in header and "unassigned" not in header, header


async def test_a_store_that_cannot_answer_leaves_the_open_ticket_on_screen(
    make_app: AppFactory, console_workspace: Workspace
) -> None:
    """A read of the open ticket that fails (the store damaged, busy or interrupted) says nothing
    about the ticket: the pane keeps what it shows and says the read failed; it does not close as
    if the ticket had been erased or moved out of the agent's view."""
    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        pane, _ = await open_first(pilot, app)
        with console_workspace.writing() as connection:  # every read of the pane now fails
            connection.execute("ALTER TABLE time_entry RENAME TO time_entry_away")
        try:
            pane.load()
            await until(pilot, lambda: any("could not read this ticket" in str(n.message) for n in app._notifications))
            assert app.screen is pane and pane.data is not None
            said = " ".join(str(n.message) for n in app._notifications)
            assert "out of your view" not in said and "no longer exists" not in said
        finally:
            with console_workspace.writing() as connection:
                connection.execute("ALTER TABLE time_entry_away RENAME TO time_entry")
