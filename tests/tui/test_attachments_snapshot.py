"""The composer with files attached and a message with files, at 80×24 (``--snapshot-update``
rewrites the SVG after a deliberate change; review it before committing)."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import TextArea

from supportdesk.tui.screens.attach_prompt import AttachPrompt
from tests.tui.conftest import AppFactory, settle, until
from tests.tui.test_attachments_console import PNG, received
from tests.tui.test_flows import open_first, type_text

pytestmark = pytest.mark.calendar


def test_composer_with_files_80x24(snap_compare, make_app: AppFactory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "files"
    folder.mkdir()
    (folder / "error [bold]screen.png").write_bytes(PNG)
    (folder / "server.log").write_bytes(b"ERROR 42\n" * 100)
    app = make_app()
    with app.workspace.reading() as connection:
        ticket_id = connection.execute(
            "SELECT id FROM ticket WHERE status = 'open' ORDER BY number LIMIT 1"
        ).fetchone()[0]
    received(app.workspace, ticket_id, {"invoice.pdf": b"MZ\x90\x00 a program", "photo.png": PNG})

    async def run_before(pilot: Pilot[None]) -> None:
        screen, _ = await open_first(pilot, app)
        if screen.ticket_id != ticket_id:
            screen.switch_to(ticket_id)
            await until(pilot, lambda: screen.data is not None and screen.data.detail.ticket["id"] == ticket_id)
        await pilot.press("r")
        await type_text(pilot, "Files attached.")
        for name in ("error [bold]screen.png", "server.log"):
            await pilot.press("ctrl+o")
            await until(pilot, lambda: isinstance(app.screen, AttachPrompt))
            await type_text(pilot, str(folder / name))
            await pilot.press("enter")
            await until(pilot, lambda name=name: any(f["filename"] == name for f in screen.composer.files))  # type: ignore[misc]
        app.clear_notifications()
        # the composer has its focus back from the attach prompt (on a loaded machine that can
        # come after the file does), and its cursor, blinking, would be drawn or not by when the
        # picture is taken: held steady. TextArea's line cache does not key on focus or blinking,
        # so a line cached while the cursor blinked off or the prompt had the focus is dropped
        text_area = screen.composer.query_one(TextArea)
        await until(pilot, lambda: text_area.has_focus)
        text_area.cursor_blink = False
        text_area.notify_style_update()
        await settle(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
