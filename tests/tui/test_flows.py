"""Every flow of the console, driven with keys through ``App.run_test`` on a real workspace."""

from __future__ import annotations

import json
import sqlite3
import stat
import sys
from pathlib import Path
from typing import Any

import pytest
from textual.app import App

from supportdesk.domain import write
from supportdesk.domain.context import SYSTEM
from supportdesk.store import reads
from supportdesk.store.workspace import Workspace
from supportdesk.tui.screens.queue import QueueScreen
from supportdesk.tui.screens.ticket import TicketScreen
from supportdesk.tui.widgets.composer import Composer
from supportdesk.tui.widgets.queue_view import QueueView
from tests.tui.conftest import AppFactory, settle, until


def rows(workspace: Workspace, sql: str, *params: object) -> list[sqlite3.Row]:
    with workspace.reading() as connection:
        return connection.execute(sql, params).fetchall()


def queue_of(app: object) -> QueueView:
    screen = app.screen  # type: ignore[attr-defined]
    assert isinstance(screen, QueueScreen)
    return screen.queue


async def open_first(pilot, app) -> tuple[TicketScreen, str]:  # type: ignore[no-untyped-def]
    await settle(pilot)
    row = queue_of(app).current_row
    assert row is not None
    await pilot.press("enter")
    await until(pilot, lambda: isinstance(app.screen, TicketScreen) and app.screen.data is not None)
    return app.screen, row.id


async def show_view(pilot, app, name: str) -> QueueView:  # type: ignore[no-untyped-def]
    screen = app.screen
    assert isinstance(screen, QueueScreen)
    screen.show_view(next(v for v in screen.views if v.name == name))
    await settle(pilot)
    return screen.queue


async def type_text(pilot, text: str) -> None:  # type: ignore[no-untyped-def]
    await pilot.press(*["space" if ch == " " else ch for ch in text])


async def test_open_a_ticket_shows_it_and_marks_it_seen(make_app: AppFactory, console_workspace: Workspace) -> None:
    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        screen, ticket_id = await open_first(pilot, app)
        detail = screen.data.detail  # type: ignore[union-attr]
        assert detail.ticket["id"] == ticket_id
        header = str(screen.query_one("#ticket-header").render())
        assert f"#{detail.ticket['number']}" in header
        assert len(screen.timeline.blocks) == len(detail.messages)
        await until(
            pilot, lambda: bool(rows(console_workspace, "SELECT 1 FROM ticket_seen WHERE ticket_id = ?", ticket_id))
        )
        await pilot.press("escape")
        assert isinstance(app.screen, QueueScreen)


async def test_reply_is_sent_through_the_mutation_and_clears_the_draft(
    make_app: AppFactory, console_workspace: Workspace
) -> None:
    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        screen, ticket_id = await open_first(pilot, app)
        await pilot.press("r")
        await type_text(pilot, "Thanks for waiting")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: not screen.composer.is_open)
        sent = rows(
            console_workspace,
            "SELECT body, public, author_kind FROM message WHERE ticket_id = ? ORDER BY created_at DESC, rowid DESC",
            ticket_id,
        )[0]
        assert (sent["body"], sent["public"], sent["author_kind"]) == ("Thanks for waiting", 1, "agent")
        assert rows(console_workspace, "SELECT name FROM outbox WHERE name = 'ticket.reply'")
        assert not rows(console_workspace, "SELECT 1 FROM draft WHERE ticket_id = ?", ticket_id)
        await until(pilot, lambda: screen.timeline.blocks[-1].entry.body == "Thanks for waiting")


async def test_internal_note_is_not_public(make_app: AppFactory, console_workspace: Workspace) -> None:
    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        screen, ticket_id = await open_first(pilot, app)
        await pilot.press("n")
        assert screen.composer.kind == "note"
        await type_text(pilot, "checked the logs")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: not screen.composer.is_open)
        note = rows(
            console_workspace,
            "SELECT public FROM message WHERE ticket_id = ? AND body = ?",
            ticket_id,
            "checked the logs",
        )
        assert [r["public"] for r in note] == [0]


async def test_submit_as_solved(make_app: AppFactory, console_workspace: Workspace) -> None:
    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        screen, ticket_id = await open_first(pilot, app)
        await pilot.press("r")
        await type_text(pilot, "All done")
        while screen.composer.submit_as != "solved":
            await pilot.press("ctrl+t")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: not screen.composer.is_open)
        ticket = rows(console_workspace, "SELECT status, solved_at FROM ticket WHERE id = ?", ticket_id)[0]
        assert ticket["status"] == "solved" and ticket["solved_at"] is not None


async def test_macro_preview_apply_undo_and_send(make_app: AppFactory, console_workspace: Workspace) -> None:
    app = make_app()
    async with app.run_test(size=(150, 44)) as pilot:
        screen, ticket_id = await open_first(pilot, app)
        await pilot.press("r")
        await type_text(pilot, "my own words")
        await pilot.press("escape", "m")
        await type_text(pilot, "refund issued")
        preview = screen.query_one("#macro-preview")
        await until(pilot, lambda: "Changes" in str(preview.render()))
        assert "status: " in str(preview.render()) and "refund" in str(preview.render())
        await pilot.press("enter")
        composer = screen.query_one(Composer)
        await until(pilot, lambda: composer.macro is not None)
        assert "I've issued a refund" in composer.text and "my own words" in composer.text
        assert composer.submit_as == "solved"
        composer.text_area.focus()
        await pilot.press("ctrl+u")
        assert composer.macro is None and composer.text == "my own words"
        assert not rows(
            console_workspace, "SELECT 1 FROM ticket_tag WHERE ticket_id = ? AND tag = 'refund_issued'", ticket_id
        )
        await pilot.press("escape", "m")
        await type_text(pilot, "refund issued")
        await pilot.press("enter")
        await until(pilot, lambda: composer.macro is not None)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: not composer.is_open)
        await settle(pilot)
        tags = {r["tag"] for r in rows(console_workspace, "SELECT tag FROM ticket_tag WHERE ticket_id = ?", ticket_id)}
        assert {"refund", "refund_issued"} <= tags
        assert rows(console_workspace, "SELECT status FROM ticket WHERE id = ?", ticket_id)[0]["status"] == "solved"
        names = [r["name"] for r in rows(console_workspace, "SELECT name FROM outbox ORDER BY id")]
        assert names[-2:] == ["ticket.reply", "macro.apply"]


async def test_kb_suggestions_search_and_insert(make_app: AppFactory, console_workspace: Workspace) -> None:
    app = make_app()
    async with app.run_test(size=(150, 44)) as pilot:
        screen, _ = await open_first(pilot, app)
        await pilot.press("k")
        panel = screen.query_one("KBPanel")
        await until(pilot, lambda: bool(panel.hits))
        await type_text(pilot, "password")
        await until(
            pilot,
            lambda: bool(panel.hits) and "password" in panel.hits[0].title.lower() + panel.hits[0].snippet.lower(),
        )
        slug = panel.hits[0].slug
        await pilot.press("enter")
        await until(pilot, lambda: screen.composer.is_open and slug in screen.composer.text)
        assert f"{app.kb_url}/{slug}" in screen.composer.text
        await pilot.press("escape", "k")
        await until(pilot, lambda: bool(panel.hits) and panel.current is not None)
        suggested = panel.current.slug
        before = screen.composer.text
        await pilot.press("ctrl+y")
        await until(pilot, lambda: f"{app.kb_url}/{suggested}" in screen.composer.text.replace(before, ""))
        assert len(screen.composer.text) > len(before) + len(suggested) + 20


async def test_tag_rows_and_apply_one_action(make_app: AppFactory, console_workspace: Workspace) -> None:
    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        queue = await show_view(pilot, app, "All open")
        await pilot.press("space", "space", "space")
        tagged = set(queue.tagged)
        assert len(tagged) == 3
        await pilot.press("semicolon")
        await type_text(pilot, "priority")
        await pilot.press("enter")
        await type_text(pilot, "urgent")
        await pilot.press("enter")
        await until(pilot, lambda: not queue.tagged)
        placeholders = ",".join("?" * len(tagged))
        priorities = rows(console_workspace, f"SELECT priority FROM ticket WHERE id IN ({placeholders})", *tagged)
        assert [r["priority"] for r in priorities] == ["urgent"] * 3


async def test_bad_filter_shows_the_error_in_place_and_keeps_the_queue(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        queue = await show_view(pilot, app, "All open")
        before = queue.model.plan  # type: ignore[union-attr]
        await pilot.press("slash")
        await type_text(pilot, "status:bogus")
        await pilot.press("enter")
        error = str(app.screen.query_one("#filter-error").render())
        assert "'bogus' is not a status at position 8" in error
        assert error.index("^") == 8
        assert queue.model.plan is before  # type: ignore[union-attr]
        await pilot.press(*["backspace"] * 5)
        await type_text(pilot, "pending")
        await pilot.press("enter")
        await settle(pilot)
        with app.workspace.reading() as connection:
            expected = reads.queue_count(connection, queue.model.plan)  # type: ignore[union-attr]
        assert queue.total == expected > 0
        shown = [queue.model.row(i) for i in range(min(expected, 20))]  # type: ignore[union-attr]
        assert {row.status for row in shown if row} == {"pending"}


async def test_edit_the_draft_in_editor(make_app: AppFactory, console_workspace: Workspace, tmp_path: Path) -> None:
    editor = tmp_path / "fake-editor"
    editor.write_text(
        f"#!{sys.executable}\nimport sys\npath = sys.argv[1]\ntext = open(path).read()\n"
        "open(path, 'w').write(text + ' -- written in the editor\\n')\n"
    )
    editor.chmod(editor.stat().st_mode | stat.S_IEXEC)
    app = make_app()
    app.settings.editor = str(editor)
    async with app.run_test(size=(140, 40)) as pilot:
        screen, ticket_id = await open_first(pilot, app)
        await pilot.press("r")
        await type_text(pilot, "start")
        await pilot.press("ctrl+e")
        assert screen.composer.text == "start -- written in the editor"
        await until(
            pilot,
            lambda: (
                [r["body"] for r in rows(console_workspace, "SELECT body FROM draft WHERE ticket_id = ?", ticket_id)]
                == ["start -- written in the editor"]
            ),
        )


async def test_keymap_override_and_macro_key_from_config(
    make_app: AppFactory, console_workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[keys]\n"queue.solve" = "x"\n"nonsense.id" = "y"\n\n[macro_keys]\n"f5" = "Billing: refund issued"\n'
    )
    monkeypatch.setenv("SUPPORTDESK_CONFIG", str(config))
    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        assert any("nonsense.id" in str(n.message) for n in app._notifications)
        row = (await show_view(pilot, app, "All open")).current_row
        assert row is not None and row.status != "solved"
        await pilot.press("s")
        await settle(pilot)
        assert rows(console_workspace, "SELECT status FROM ticket WHERE id = ?", row.id)[0]["status"] == row.status
        await pilot.press("x")
        await until(
            pilot,
            lambda: rows(console_workspace, "SELECT status FROM ticket WHERE id = ?", row.id)[0]["status"] == "solved",
        )
        await pilot.press("question_mark")
        help_text = str(app.screen.query_one("#help-body").render())
        assert "queue.solve *" in help_text and "Billing: refund issued" in help_text
        await pilot.press("escape", "k", "enter")
        await until(pilot, lambda: isinstance(app.screen, TicketScreen) and app.screen.data is not None)
        await pilot.press("f5")
        await until(pilot, lambda: app.screen.composer.macro is not None)
        assert app.screen.composer.macro.name == "Billing: refund issued"


def test_a_save_worker_finishing_after_the_close_save_leaves_the_newer_draft(console_workspace: Workspace) -> None:
    """Quitting writes the pane's drafts on the UI thread; a save worker started a moment before
    (a flush, older text) may finish after that write, and must not put the older text back."""
    import threading

    from supportdesk.store.local_state import Draft
    from supportdesk.tui.db import ConsoleDB

    ticket_id = rows(console_workspace, "SELECT id FROM ticket ORDER BY number LIMIT 1")[0][0]
    db = ConsoleDB(console_workspace, strict=True)
    try:
        db.save_drafts_on_close([Draft(ticket_id, "reply", "the newest words", {"status": "open"})])
        late = threading.Thread(target=db.save_draft, args=(Draft(ticket_id, "reply", "older words"),))
        late.start()
        late.join()
        other = threading.Thread(target=db.save_draft, args=(Draft(ticket_id, "note", "a note's own"),))
        other.start()
        other.join()
    finally:
        db.close()
    saved = dict(rows(console_workspace, "SELECT kind, body FROM draft WHERE ticket_id = ?", ticket_id))
    assert saved == {"reply": "the newest words", "note": "a note's own"}


async def test_draft_survives_quitting(make_app: AppFactory, console_workspace: Workspace) -> None:
    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        _, ticket_id = await open_first(pilot, app)
        await pilot.press("r")
        await type_text(pilot, "half a thought")
        await settle(pilot)
    saved = rows(console_workspace, "SELECT body, state FROM draft WHERE ticket_id = ? AND kind = 'reply'", ticket_id)
    assert saved[0]["body"] == "half a thought" and json.loads(saved[0]["state"])["status"]
    again = make_app()
    async with again.run_test(size=(140, 40)) as pilot:
        screen, reopened = await open_first(pilot, again)
        assert reopened == ticket_id
        assert "reply" in str(screen.query_one("#status-context").render())
        await pilot.press("r")
        assert screen.composer.text == "half a thought"


async def test_refused_reply_keeps_the_draft(make_app: AppFactory, console_workspace: Workspace) -> None:
    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        screen, ticket_id = await open_first(pilot, app)
        await pilot.press("r")
        await type_text(pilot, "an answer to an old question")
        # the customer writes again from another process while the agent types
        write.apply(
            console_workspace, "ticket.receive", {"ticket_id": ticket_id, "body": "are you there?"}, actor=SYSTEM
        )
        await pilot.press("ctrl+s")
        await until(pilot, lambda: any("newer message" in str(n.message) for n in app._notifications))
        assert screen.composer.is_open and screen.composer.text == "an answer to an old question"
        assert not rows(console_workspace, "SELECT 1 FROM message WHERE body = ?", "an answer to an old question")
        await until(pilot, lambda: screen.timeline.blocks[-1].entry.body == "are you there?")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: not screen.composer.is_open)
        assert rows(console_workspace, "SELECT 1 FROM message WHERE body = ?", "an answer to an old question")


async def test_another_process_writing_refreshes_the_queue(make_app: AppFactory, console_workspace: Workspace) -> None:
    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        queue = queue_of(app)
        row = queue.current_row
        assert row is not None
        assert not app.check_store()
        write.apply(
            console_workspace, "ticket.set_subject", {"ticket_id": row.id, "subject": "Renamed elsewhere"}, actor=SYSTEM
        )
        assert app.check_store()
        await until(pilot, lambda: (r := queue.current_row) is not None and r.subject == "Renamed elsewhere")
        assert "Renamed elsewhere" in queue.render_line(queue.cursor - round(queue.scroll_y)).text


async def test_saved_views_create_rename_delete(make_app: AppFactory, console_workspace: Workspace) -> None:
    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        await pilot.press("slash")
        await type_text(pilot, "priority:urgent")
        await pilot.press("enter", "w")
        await type_text(pilot, "Hot")
        await pilot.press("enter")
        screen = app.screen
        assert isinstance(screen, QueueScreen)
        await until(pilot, lambda: any(v.name == "Hot" for v in screen.views))
        view = next(v for v in screen.views if v.name == "Hot")
        assert "priority:urgent" in view.query and not view.shared
        await until(pilot, lambda: screen.sidebar.counts.get(view.id, -1) >= 0)
        screen.sidebar.row_list.cursor = screen.views.index(view)
        await pilot.press("R", *["backspace"] * 3)
        await type_text(pilot, "Burning")
        await pilot.press("enter")
        await until(pilot, lambda: any(v.name == "Burning" for v in screen.views))
        screen.sidebar.row_list.cursor = next(i for i, v in enumerate(screen.views) if v.name == "Burning")
        await pilot.press("D", "y")
        await until(pilot, lambda: not any(v.name == "Burning" for v in screen.views))
        assert not rows(console_workspace, "SELECT 1 FROM saved_view WHERE id = ?", view.id)


async def test_log_a_call_opens_a_ticket_for_the_caller(make_app: AppFactory, console_workspace: Workspace) -> None:
    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        await pilot.press("c")
        await pilot.click("#call-number")
        await type_text(pilot, "+14155550199")
        await pilot.click("#call-duration")
        await type_text(pilot, "4:30")
        await pilot.click("#call-notes")
        await type_text(pilot, "wants a callback about invoices")
        await pilot.press("ctrl+s")
        await until(
            pilot,
            lambda: bool(
                rows(console_workspace, "SELECT 1 FROM message WHERE body = ?", "wants a callback about invoices")
            ),
        )
        ticket = rows(
            console_workspace,
            "SELECT t.channel, m.meta FROM message m JOIN ticket t ON t.id = m.ticket_id WHERE m.body = ?",
            "wants a callback about invoices",
        )[0]
        assert ticket["channel"] == "phone"
        assert json.loads(ticket["meta"])["call"]["duration_seconds"] == 270


async def test_first_and_last_rows_are_reached_by_keyset(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, QueueScreen)
        screen.show_view(None)  # every ticket: more than two pages
        await settle(pilot)
        queue = screen.queue
        total = queue.total
        assert total is not None and total > 200
        assert queue.model is not None and queue.model.anchors is not None
        await pilot.press("G")
        await until(pilot, lambda: queue.current_row is not None)
        assert queue.cursor == total - 1
        with app.workspace.reading() as connection:
            last = reads.queue_page(connection, queue.model.plan, reverse=True, limit=1).rows[0]  # type: ignore[union-attr]
        assert queue.current_row.id == last.id  # type: ignore[union-attr]
        await pilot.press("g")
        assert queue.cursor == 0 and queue.current_row is not None


async def test_sort_by_clicking_a_column(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        await show_view(pilot, app, "All open")
        screen = app.screen
        assert isinstance(screen, QueueScreen)
        header = screen.query_one("#queue-header")
        x = sum(c.width + 1 for c in screen.queue.columns[:1])
        await pilot.click(header, offset=(x + 2, 0))
        await settle(pilot)
        assert screen.sort == "number-asc"
        numbers = [screen.queue.model.row(i).number for i in range(10)]  # type: ignore[union-attr]
        assert numbers == sorted(numbers)


async def test_header_fields_are_edited_with_pickers(make_app: AppFactory, console_workspace: Workspace) -> None:
    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        await show_view(pilot, app, "All open")
        screen, ticket_id = await open_first(pilot, app)

        def field(name: str) -> object:
            return rows(console_workspace, f"SELECT {name} FROM ticket WHERE id = ?", ticket_id)[0][0]

        await pilot.press("p")
        await type_text(pilot, "urgent")
        await pilot.press("enter")
        await until(pilot, lambda: field("priority") == "urgent")
        await pilot.press("S")
        await type_text(pilot, "pending")
        await pilot.press("enter")
        await until(pilot, lambda: field("status") == "pending")
        await pilot.press("t")
        await type_text(pilot, "vip escalated")
        await pilot.press("enter")
        await until(pilot, lambda: {"vip", "escalated"} <= set(screen.data.detail.tags))  # type: ignore[union-attr]
        before = list(screen.data.detail.tags)  # type: ignore[union-attr]
        await pilot.press("T", "enter")  # the first tag of the picker
        await until(pilot, lambda: screen.data.detail.tags == before[1:])  # type: ignore[union-attr]
        await pilot.press("E", "ctrl+u")
        await type_text(pilot, "Renamed here")
        await pilot.press("enter")
        await until(pilot, lambda: field("subject") == "Renamed here")
        await until(pilot, lambda: "Renamed here" in str(screen.query_one("#ticket-header").render()))


async def test_a_draft_stays_with_its_ticket_when_moving_on(make_app: AppFactory, console_workspace: Workspace) -> None:
    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        await show_view(pilot, app, "All open")
        screen, first = await open_first(pilot, app)
        await pilot.press("r")
        await type_text(pilot, "for the first one")
        await pilot.press("escape", "J")
        await until(pilot, lambda: screen.data is not None and screen.ticket_id != first)
        await settle(pilot)
        drafts = rows(console_workspace, "SELECT ticket_id, body FROM draft")
        assert [(d["ticket_id"], d["body"]) for d in drafts] == [(first, "for the first one")]


@pytest.mark.parametrize(("key", "opened"), [("r", "reply"), ("n", "note"), ("m", "macros"), ("K", "kb")])
async def test_queue_keys_open_the_ticket_ready_to_act(make_app: AppFactory, key: str, opened: str) -> None:
    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        await pilot.press(key)
        await until(pilot, lambda: isinstance(app.screen, TicketScreen) and app.screen.data is not None)
        screen = app.screen
        assert isinstance(screen, TicketScreen)
        if opened in ("reply", "note"):
            assert screen.composer.is_open and screen.composer.kind == opened
        else:
            assert screen.query_one("ContentSwitcher").current == opened


async def test_the_command_palette_runs_console_actions(make_app: AppFactory, console_workspace: Workspace) -> None:
    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        queue = await show_view(pilot, app, "All open")
        row = queue.current_row
        assert row is not None and row.status != "solved"
        await pilot.press("ctrl+p")
        await type_text(pilot, "Queue: Solve")
        await until(pilot, lambda: _palette_offers(app, "Queue: Solve"))
        await pilot.press("enter")
        await until(
            pilot, lambda: rows(console_workspace, "SELECT status FROM ticket WHERE id = ?", row.id)[0][0] == "solved"
        )


async def test_q_in_the_queue_leaves_the_console(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        await pilot.press("q")
        await pilot.pause()
        assert app.return_code == 0


def _palette_offers(app: App[Any], title: str) -> bool:
    """The command palette's search has run: its first (highlighted) command is ``title``."""
    from textual.command import CommandList, CommandPalette

    palette = app.screen
    if not isinstance(palette, CommandPalette):
        return False
    commands = palette.query_one(CommandList)
    if commands.highlighted is None or commands.option_count == 0:
        return False
    return title in str(commands.get_option_at_index(commands.highlighted).prompt)
