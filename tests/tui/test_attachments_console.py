"""Files in the console: attach in the composer (path completion, chips, removal, kept when a
send is refused), and open / save / preview from the timeline — with hostile names, a program
posing as a PDF, and a file that is not in the workspace while offline."""

from __future__ import annotations

import hashlib
import os
import stat
import sys
from pathlib import Path
from typing import Any

import pytest

from supportdesk.domain import write
from supportdesk.domain.context import SYSTEM
from supportdesk.store.workspace import Workspace
from supportdesk.sync.blob_cache import store_of
from supportdesk.tui import image_support
from supportdesk.tui.screens.attach_prompt import AttachPrompt, complete
from supportdesk.tui.screens.forms import PickerScreen, PromptScreen
from supportdesk.tui.widgets.attach_chips import AttachChips, Chip
from supportdesk.tui.widgets.timeline_files import ImagePreview
from tests.tui.conftest import AppFactory, settle, until
from tests.tui.test_flows import open_first, rows, type_text

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde"
    b"\x00\x00\x00\x0cIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\xc9\xfe\x92\xef\x00\x00\x00\x00IEND\xaeB`\x82"
)
HOSTILE = "[@click=app.quit]\x1b[31mevil\x07[bold].png"


def notes(app: Any) -> list[str]:
    return [str(n.message) for n in app._notifications]


def recorder(tmp_path: Path, name: str) -> tuple[str, Path]:
    """A real program standing in for xdg-open / $PAGER: it writes the path it was given."""
    log = tmp_path / f"{name}.log"
    script = tmp_path / name
    script.write_text(f"#!{sys.executable}\nimport sys\nopen({str(log)!r}, 'a').write(sys.argv[1] + '\\n')\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script), log


def received(workspace: Workspace, ticket_id: str, files: dict[str, bytes]) -> None:
    """The customer sends files (stored as inbound files are: in the workspace's blob store)."""
    from supportdesk.store.file_types import declared_for, sniff

    store = store_of(workspace)
    attachments = []
    for name, data in files.items():
        stored = store.put_bytes(data)
        attachments.append(
            {
                "sha256": stored.sha256,
                "filename": name,
                "size": len(data),
                "content_type": declared_for(name),
                "sniffed_type": sniff(data[:8192], declared_for(name), name),
            }
        )
    write.apply(
        workspace,
        "ticket.receive",
        {"ticket_id": ticket_id, "body": "files attached", "attachments": attachments},
        actor=SYSTEM,
    )


def test_path_completion_extends_as_far_as_every_match_agrees(tmp_path: Path) -> None:
    (tmp_path / "invoice-2024.pdf").write_bytes(b"x")
    (tmp_path / "invoice-2025.pdf").write_bytes(b"x")
    (tmp_path / "logs").mkdir()
    (tmp_path / ".hidden").write_bytes(b"x")
    assert complete(f"{tmp_path}/inv") == f"{tmp_path}/invoice-202"
    assert complete(f"{tmp_path}/lo") == f"{tmp_path}/logs/"
    assert complete(f"{tmp_path}/nothing") == f"{tmp_path}/nothing"
    assert complete(f"{tmp_path}/.h") == f"{tmp_path}/.hidden"
    assert complete(f"{tmp_path}/no-such-dir/x") == f"{tmp_path}/no-such-dir/x"


async def test_attach_several_files_remove_one_and_send(
    make_app: AppFactory, console_workspace: Workspace, tmp_path: Path
) -> None:
    first = tmp_path / "screenshot-of-the-error.png"
    first.write_bytes(PNG)
    second = tmp_path / "server.log"
    second.write_bytes(b"ERROR 42\n")
    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        screen, ticket_id = await open_first(pilot, app)
        await pilot.press("r")
        await type_text(pilot, "logs attached")
        for path in (first, second):
            await pilot.press("ctrl+o")
            await until(pilot, lambda: isinstance(app.screen, AttachPrompt))
            prompt = app.screen
            await type_text(pilot, str(path)[:-4])
            await pilot.press("tab")  # completes the rest of the one match
            assert prompt.query_one("Input").value == str(path)  # type: ignore[attr-defined]
            await pilot.press("enter")
            count = 1 if path == first else 2
            await until(pilot, lambda count=count: len(screen.composer.files) == count)  # type: ignore[misc]
        chips = screen.composer.query_one(AttachChips)
        await settle(pilot)
        assert next(str(c.render()) for c in chips.query(Chip)).startswith("📎 screenshot-of-the-error.png")
        # the draft keeps the files across closing the composer
        draft = app.db.draft(ticket_id, "reply")  # type: ignore[attr-defined]
        assert draft is not None and [f["filename"] for f in draft.state["attachments"]] == [
            "screenshot-of-the-error.png",
            "server.log",
        ]
        await pilot.press("ctrl+r")  # two files: a pick
        await until(pilot, lambda: isinstance(app.screen, PickerScreen))
        await pilot.press("down", "enter")
        await until(pilot, lambda: len(screen.composer.files) == 1)
        assert screen.composer.files[0]["filename"] == "screenshot-of-the-error.png"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: not screen.composer.is_open)
        sent = rows(
            console_workspace,
            "SELECT x.filename, x.sha256 FROM attachment x JOIN message m ON m.id = x.message_id WHERE m.body = ?",
            "logs attached",
        )
        assert [tuple(r) for r in sent] == [("screenshot-of-the-error.png", hashlib.sha256(PNG).hexdigest())]
        assert store_of(console_workspace).has(hashlib.sha256(PNG).hexdigest())
        assert screen.composer.files == []


async def test_a_refused_send_keeps_the_files_on_the_draft(
    make_app: AppFactory, console_workspace: Workspace, tmp_path: Path
) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(b"some notes")
    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        screen, ticket_id = await open_first(pilot, app)
        await pilot.press("r")
        await type_text(pilot, "old answer")
        await pilot.press("ctrl+o")
        await until(pilot, lambda: isinstance(app.screen, AttachPrompt))
        await type_text(pilot, str(path))
        await pilot.press("enter")
        await until(pilot, lambda: len(screen.composer.files) == 1)
        write.apply(console_workspace, "ticket.receive", {"ticket_id": ticket_id, "body": "hello?"}, actor=SYSTEM)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: any("newer message" in n for n in notes(app)))
        assert screen.composer.is_open and [f["filename"] for f in screen.composer.files] == ["notes.txt"]
        assert not rows(console_workspace, "SELECT 1 FROM attachment WHERE filename = 'notes.txt'")


async def test_attaching_a_missing_file_or_a_folder_says_so_and_keeps_the_draft(
    make_app: AppFactory, tmp_path: Path
) -> None:
    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        screen, _ = await open_first(pilot, app)
        await pilot.press("r")
        await type_text(pilot, "keep me")
        for wrong in (str(tmp_path / "nope[bold].txt"), str(tmp_path)):
            await pilot.press("ctrl+o")
            await until(pilot, lambda: isinstance(app.screen, AttachPrompt))
            await type_text(pilot, wrong)
            await pilot.press("enter")
            await until(pilot, lambda wrong=wrong: any("is not a file" in n and wrong in n for n in notes(app)))  # type: ignore[misc]
        assert screen.composer.files == [] and screen.composer.text == "keep me"
        await pilot.press("ctrl+r")
        await until(pilot, lambda: any("has no files" in n for n in notes(app)))


async def test_open_save_and_preview_from_the_timeline(
    make_app: AppFactory, console_workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    viewer, viewer_log = recorder(tmp_path, "viewer")
    page, pager_log = recorder(tmp_path, "pager")
    monkeypatch.setenv("PAGER", page)
    config = Path(os.environ["SUPPORTDESK_CONFIG"])
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(f'[console]\nopener = "{viewer}"\nsave_dir = "{tmp_path / "saved"}"\n')
    (tmp_path / "saved").mkdir()
    with console_workspace.reading() as connection:
        ticket_id = connection.execute(
            "SELECT id FROM ticket WHERE status = 'open' ORDER BY number LIMIT 1"
        ).fetchone()[0]
    received(console_workspace, ticket_id, {HOSTILE: PNG})
    received(console_workspace, ticket_id, {"log.txt": b"line one\n" * 60 + b"\x1b]0;pwned\x07\x1b[2Jline two\n"})
    received(console_workspace, ticket_id, {"invoice.pdf": b"MZ\x90\x00 this is a program"})
    app = make_app()
    assert app.settings.section("console").get("opener") == viewer, "the test config was not read"
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        app.push_screen(app.ticket_screen(ticket_id))
        from supportdesk.tui.screens.ticket import TicketScreen

        await until(pilot, lambda: isinstance(app.screen, TicketScreen) and app.screen.data is not None)
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, TicketScreen)
        timeline = screen.timeline
        timeline.focus()
        image, _, program = timeline.blocks[-3:]
        # hostile name drawn as text, control characters gone; the key hint is there
        drawn = [line for line, _ in image.lines]
        assert any(
            "[@click=app.quit]" in line and "evil" in line and "\x1b" not in line and "\x07" not in line
            for line in drawn
        )
        assert ("  o open · w save · v preview", "fold") in image.lines
        assert ("  ⚠ declared application/pdf, but the bytes are application/x-msdownload", "warn") in program.lines

        # an image opens with the configured viewer, as a copy named by hash and sniffed type
        timeline.selected = len(timeline.blocks) - 3
        await pilot.press("o")
        await until(pilot, lambda: viewer_log.exists() and viewer_log.read_text().strip() != "")
        opened = Path(viewer_log.read_text().split()[0])
        assert opened.name == f"{hashlib.sha256(PNG).hexdigest()[:16]}.png" and opened.read_bytes() == PNG
        assert opened.parent == console_workspace.attachments_dir / "opened" / hashlib.sha256(PNG).hexdigest()
        assert oct(opened.parent.stat().st_mode & 0o777) == "0o700"

        # text goes to $PAGER, without its escape sequences
        timeline.selected = len(timeline.blocks) - 2
        await pilot.press("o")
        await until(pilot, lambda: pager_log.exists())
        paged = Path(pager_log.read_text().split()[0]).read_text()
        assert "line one" in paged and "line two" in paged and "\x1b" not in paged and "\x07" not in paged

        # a program posing as a PDF is never handed to a viewer
        timeline.selected = len(timeline.blocks) - 1
        await pilot.press("o")
        await until(pilot, lambda: any("never opened from the console" in n for n in notes(app)))
        assert len(viewer_log.read_text().split()) == 1

        # but it can be saved, under its cleaned name, with the warning said
        await pilot.press("w")
        await until(pilot, lambda: isinstance(app.screen, PromptScreen))
        await pilot.press("enter")
        await until(pilot, lambda: (tmp_path / "saved" / "invoice.pdf").exists())
        await until(pilot, lambda: any("careful" in n for n in notes(app)))
        # saving twice never overwrites
        await pilot.press("w")
        await until(pilot, lambda: isinstance(app.screen, PromptScreen))
        await pilot.press("enter")
        await until(pilot, lambda: (tmp_path / "saved" / "invoice (2).pdf").exists())

        # preview: a label and a link where the terminal draws no images …
        timeline.selected = len(timeline.blocks) - 3
        await pilot.press("v")
        await until(pilot, lambda: isinstance(app.screen, ImagePreview))
        assert "draws no images inline" in str(app.screen.query_one("#preview-fallback").render())
        await pilot.press("escape")
        # … and textual-image's widget where it does
        image_support.force("halfcell")
        try:
            await pilot.press("v")
            await until(pilot, lambda: isinstance(app.screen, ImagePreview))
            await settle(pilot)
            assert app.screen.query("#preview-image")
            await pilot.press("escape")
        finally:
            image_support.force(None)
        assert app.is_running
    # erasing the file (as an erasure does) takes the viewer's copy with it
    store_of(console_workspace).remove([hashlib.sha256(PNG).hexdigest()])
    assert not opened.exists()


async def test_a_file_not_in_the_workspace_while_offline_is_a_clear_notification(
    make_app: AppFactory, console_workspace: Workspace
) -> None:
    with console_workspace.reading() as connection:
        ticket_id = connection.execute(
            "SELECT id FROM ticket WHERE status = 'open' ORDER BY number LIMIT 1"
        ).fetchone()[0]
    received(console_workspace, ticket_id, {"report.txt": b"quarterly"})
    store_of(console_workspace).remove([hashlib.sha256(b"quarterly").hexdigest()])
    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        app.push_screen(app.ticket_screen(ticket_id))
        from supportdesk.tui.screens.ticket import TicketScreen

        await until(pilot, lambda: isinstance(app.screen, TicketScreen) and app.screen.data is not None)
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, TicketScreen)
        screen.timeline.focus()
        await pilot.press("o")
        await until(pilot, lambda: any("report.txt: this file is not in the workspace" in n for n in notes(app)))
        assert app.is_running


def test_every_file_key_is_in_the_help() -> None:
    from supportdesk.tui.screens.help import help_content

    shown = help_content({}, {}, "config.toml").plain
    for what in ("Attach", "Remove file", "Open file", "Save file", "Preview"):
        assert what in shown, what
