"""The timeline's file keys: ``o`` open, ``w`` save to a folder, ``v`` preview an image inline.

Each acts on the files of the selected message (a pick when it has several). The bytes come
from the workspace, fetched from the server the first time in a thread worker, so the console
never freezes on a download; offline, a file never opened before cannot be, and a notification
says so. What opens with what, and why a program never does, is in
:mod:`supportdesk.tui.attachment_files`. Every name shown is plain text, control characters
stripped.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from rich.style import Style
from rich.text import Text
from textual import work
from textual.app import ComposeResult, SuspendNotSupported
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from supportdesk.tui.attachment_files import (
    FileProblem,
    FileRef,
    local_path,
    opener,
    pager,
    save,
    save_folder,
    spawn,
    viewer_copy,
)
from supportdesk.tui.text import safe_line


def file_lines(attachments: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """A message's files as timeline lines (plain text): one each, a warning under a file whose
    bytes are not what its sender said, and the keys once."""
    from supportdesk.tui.channel_notes import attachment_line

    lines: list[tuple[str, str]] = []
    for attachment in attachments:
        lines.append((attachment_line(attachment), "meta"))
        ref = FileRef.of(attachment)
        if ref.sniffed_type and ref.warning:
            lines.append((f"  ⚠ {safe_line(ref.warning, cap=160)}", "warn"))
    if any(a.get("sha256") for a in attachments):
        lines.append(("  o open · w save · v preview", "fold"))
    return lines


class FileOpened(Message):
    """A viewer was started (``spawned_at``: ``time.monotonic()`` right after the spawn)."""

    def __init__(self, ref: FileRef, command: list[str], spawned_at: float) -> None:
        super().__init__()
        self.ref = ref
        self.command = command
        self.spawned_at = spawned_at


class FileActions:
    """Mixed into :class:`~supportdesk.tui.widgets.timeline.Timeline` (``self`` is the widget)."""

    #: When the last viewer was spawned (``time.monotonic()``), for the benchmark and tests.
    last_spawn: float = 0.0

    def selected_files(self) -> list[FileRef]:
        widget: Any = self
        if not 0 <= widget.selected < len(widget.blocks):
            return []
        return [FileRef.of(a) for a in widget.blocks[widget.selected].entry.attachments if a.get("sha256")]

    def _with_file(self, verb: str, then: Callable[[FileRef], None]) -> None:
        widget: Any = self
        files = self.selected_files()
        if not files:
            widget.notify("this message has no files", severity="warning")
            return
        if len(files) == 1:
            then(files[0])
            return
        from supportdesk.tui.screens.forms import Choice, PickerScreen
        from supportdesk.tui.widgets.attach_chips import size_label

        choices = [
            Choice(str(index), ref.label, f"{size_label(ref.size)} · {safe_line(ref.sniffed_type, cap=40)}")
            for index, ref in enumerate(files)
        ]

        def picked(value: str | None) -> None:
            if value is not None:
                then(files[int(value)])

        widget.app.push_screen(PickerScreen(f"{verb} which file?", choices), picked)

    # --- open ---------------------------------------------------------------------------------

    def action_open_file(self) -> None:
        self._with_file("Open", self._open)

    def _open(self, ref: FileRef) -> None:
        widget: Any = self
        if ref.viewer is None:  # said at once, before anything is fetched
            kind = safe_line(ref.sniffed_type or "unknown bytes", cap=60)
            widget.notify(f"{ref.label} is {kind}: never opened from the console, only saved (w)", markup=False)
            return
        self._open_worker(ref)

    @work(thread=True, group="file-open", exit_on_error=False)
    def _open_worker(self, ref: FileRef) -> None:
        widget: Any = self
        app: Any = widget.app
        try:
            path = local_path(app.workspace, app.settings, ref)
            copy = viewer_copy(path, ref, app.workspace.attachments_dir)
            if ref.viewer == "text":
                app.call_from_thread(self._page, ref, copy)
                return
            command = opener(app.settings)
            spawn(command, copy)
            spawned = time.monotonic()
        except FileProblem as problem:
            app.call_from_thread(widget.notify, str(problem), severity="error", markup=False)
            return
        self.last_spawn = spawned
        app.call_from_thread(self._opened, ref, command, spawned)

    def _opened(self, ref: FileRef, command: list[str], spawned: float) -> None:
        widget: Any = self
        widget.post_message(FileOpened(ref, command, spawned))
        widget.notify(f"opened {ref.label} with {safe_line(command[0], cap=40)}", markup=False)

    def _page(self, ref: FileRef, copy: Path) -> None:
        widget: Any = self
        command = pager()
        try:
            try:
                with widget.app.suspend():
                    self.last_spawn = time.monotonic()
                    subprocess.run([*command, str(copy)], check=False)
            except SuspendNotSupported:  # no terminal to hand over (a test): run it detached
                self.last_spawn = time.monotonic()
                subprocess.run([*command, str(copy)], check=False, stdin=subprocess.DEVNULL, capture_output=True)
        except OSError as error:
            widget.notify(f"cannot run {command[0]}: {error.strerror or error}", severity="error", markup=False)
            return
        widget.post_message(FileOpened(ref, command, self.last_spawn))

    # --- save ---------------------------------------------------------------------------------

    def action_save_file(self) -> None:
        self._with_file("Save", self._ask_folder)

    def _ask_folder(self, ref: FileRef) -> None:
        widget: Any = self
        from supportdesk.tui.screens.forms import PromptScreen

        def chosen(folder: str | None) -> None:
            if folder:
                self._save_worker(ref, folder)

        widget.app.push_screen(
            PromptScreen(f"Save {ref.label} to the folder", value=save_folder(widget.app.settings)), chosen
        )

    @work(thread=True, group="file-save", exit_on_error=False)
    def _save_worker(self, ref: FileRef, folder: str) -> None:
        widget: Any = self
        app: Any = widget.app
        try:
            target = save(local_path(app.workspace, app.settings, ref), folder, ref)
        except FileProblem as problem:
            app.call_from_thread(widget.notify, str(problem), severity="error", markup=False)
            return
        warning = f" — careful: {ref.warning}" if ref.warning else ""
        app.call_from_thread(
            widget.notify, f"saved {safe_line(str(target), cap=160)}{warning}", markup=False, timeout=8
        )

    # --- preview ------------------------------------------------------------------------------

    def action_preview_file(self) -> None:
        self._with_file("Preview", self._preview)

    def _preview(self, ref: FileRef) -> None:
        widget: Any = self
        if ref.viewer != "image":
            widget.notify(f"{ref.label} is not an image: o opens it", severity="warning", markup=False)
            return
        self._preview_worker(ref)

    @work(thread=True, group="file-preview", exit_on_error=False)
    def _preview_worker(self, ref: FileRef) -> None:
        widget: Any = self
        app: Any = widget.app
        try:
            copy = viewer_copy(local_path(app.workspace, app.settings, ref), ref, app.workspace.attachments_dir)
        except FileProblem as problem:
            app.call_from_thread(widget.notify, str(problem), severity="error", markup=False)
            return
        app.call_from_thread(app.push_screen, ImagePreview(ref, copy))


class ImagePreview(ModalScreen[None]):
    """An image drawn inline (Kitty graphics or Sixel), else a label and a link to the file."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,v,q", "dismiss", "Close", id="preview.close"),
        Binding("o", "open", "Open", id="preview.open"),
    ]
    DEFAULT_CSS = """
    ImagePreview { align: center middle; }
    ImagePreview > Vertical { width: 90%; height: 90%; border: round $accent; background: $surface; }
    ImagePreview #preview-title { height: 1; padding: 0 1; }
    ImagePreview #preview-image { width: 1fr; height: 1fr; }
    ImagePreview #preview-fallback { padding: 1 2; }
    """

    def __init__(self, ref: FileRef, path: Path) -> None:
        super().__init__()
        self.ref = ref
        self.path = path

    def compose(self) -> ComposeResult:
        from supportdesk.tui import image_support

        with Vertical():
            yield Label(
                Content(f"{self.ref.label} · {self.ref.sniffed_type}")
                + Content.styled("   o opens it · esc closes", "dim"),
                id="preview-title",
            )
            drawn = None
            try:
                drawn = image_support.image_widget(str(self.path), id="preview-image")
            except Exception:  # bytes Pillow cannot read: the label then
                drawn = None
            if drawn is not None:
                yield drawn
            else:
                link = Text("This terminal draws no images inline (that needs Kitty graphics or Sixel).\n")
                link.append("o opens the file in the system viewer: ")
                link.append(str(self.path), style=Style(link=self.path.as_uri()))
                yield Static(link, id="preview-fallback", markup=False)

    def action_open(self) -> None:
        timeline = getattr(self.app.screen_stack[-2], "timeline", None) if len(self.app.screen_stack) > 1 else None
        self.dismiss()
        if isinstance(timeline, FileActions):
            timeline._open(self.ref)
