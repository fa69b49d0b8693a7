"""The composer: a public reply or an internal note, saved as a draft as you type.

``ctrl+s`` sends with the status chosen for "submit as" (open / pending / solved, like
Zendesk); ``ctrl+e`` hands the draft to ``$EDITOR``; ``ctrl+o`` attaches a file (a path prompt
with completion; the file is copied into the workspace at once, so it goes up with the next sync
even if it is gone from disk by then) and ``ctrl+r`` takes one off
(:mod:`supportdesk.tui.widgets.attach_chips`). The screen owns the writes: the composer
only says what the agent wants (:class:`SendRequested`, :class:`DraftChanged`).
"""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textual import on, work
from textual.app import ComposeResult, SuspendNotSupported
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Static, TextArea

from supportdesk.tui.actions import bindings
from supportdesk.tui.keymap import effective_keys
from supportdesk.tui.text import safe_line
from supportdesk.tui.widgets.attach_chips import AttachChips

SUBMIT_STATUSES = ("open", "pending", "solved")
SAVE_DELAY = 0.4
TYPING_EVERY = 2.0


@dataclass
class StagedMacro:
    """A macro applied to the draft and not sent yet: what to undo, what to apply on send."""

    macro_id: str
    name: str
    public: bool
    status: str | None
    summary: str
    previous_text: str
    previous_kind: str
    previous_status: str
    has_field_changes: bool

    def as_state(self) -> dict[str, Any]:
        return dict(self.__dict__)


class Composer(Vertical):
    BINDINGS = bindings("composer")
    DEFAULT_CSS = """
    Composer { height: 14; display: none; border-top: solid $accent; }
    Composer.-open { display: block; }
    Composer.-note { border-top: solid $warning; }
    Composer > #composer-title { height: 1; padding: 0 1; }
    Composer > #composer-macro { height: auto; padding: 0 1; color: $text-accent; display: none; }
    Composer > #composer-macro.-shown { display: block; }
    Composer > TextArea { height: 1fr; border: none; }
    Composer > #composer-hint { height: 1; padding: 0 1; color: $text-muted; }
    """

    class SendRequested(Message):
        def __init__(
            self,
            kind: str,
            body: str,
            status: str,
            macro: StagedMacro | None,
            attachments: list[dict[str, Any]] | None = None,
        ) -> None:
            super().__init__()
            self.kind = kind
            self.body = body
            self.status = status
            self.macro = macro
            self.attachments = list(attachments or [])

    class DraftChanged(Message):
        def __init__(self, ticket_id: str, kind: str, body: str, state: dict[str, Any]) -> None:
            super().__init__()
            self.ticket_id = ticket_id
            self.kind = kind
            self.body = body
            self.state = state

    class Closed(Message):
        pass

    class Typing(Message):
        """The agent is typing (at most one every :data:`TYPING_EVERY` seconds), for presence."""

        def __init__(self, ticket_id: str) -> None:
            super().__init__()
            self.ticket_id = ticket_id

    def __init__(self, *, editor: str | None = None, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.ticket_id = ""
        self.kind = "reply"
        self.submit_as = "open"
        self.requester = ""
        self.channel = ""
        self.macro: StagedMacro | None = None
        #: The files attached to the draft (the ``attachments`` of the mutation, already staged).
        self.files: list[dict[str, Any]] = []
        self.editor = editor
        self.sending = False
        self._save_timer: Any = None
        self._loading = False
        self._typed_at = 0.0
        self._text_area = TextArea(id="composer-text", soft_wrap=True, show_line_numbers=False, tab_behavior="indent")

    def compose(self) -> ComposeResult:
        yield Static(id="composer-title", markup=False)
        yield Static(id="composer-macro", markup=False)
        yield AttachChips(id="composer-files")
        yield self._text_area
        yield Static(id="composer-hint", markup=False)

    @property
    def text_area(self) -> TextArea:
        """Held, not queried: the text is still read while the console closes (:meth:`take_unsaved`),
        when the children are already gone from the DOM."""
        return self._text_area

    @property
    def text(self) -> str:
        return self.text_area.text

    @property
    def is_open(self) -> bool:
        return self.has_class("-open")

    def open(self, ticket_id: str, kind: str, body: str, state: dict[str, Any], *, default_status: str) -> None:
        """Show the draft of ``kind`` (reply or note) of a ticket with its saved text and state."""
        self.ticket_id = ticket_id
        self.kind = kind
        saved = state.get("status")
        self.submit_as = saved if isinstance(saved, str) and saved in SUBMIT_STATUSES else default_status
        macro = state.get("macro")
        self.macro = StagedMacro(**macro) if isinstance(macro, dict) else None
        files = state.get("attachments")
        self.files = [f for f in files if isinstance(f, dict)] if isinstance(files, list) else []
        self._loading = True
        self.text_area.load_text(body)
        self._loading = False
        self.add_class("-open")
        self.set_class(kind == "note", "-note")
        self._draw()
        self.query_one(AttachChips).show(self.files)
        self.text_area.focus()
        self.text_area.move_cursor(self.text_area.document.end)

    def close(self) -> None:
        self.flush()
        self.remove_class("-open")

    def _draw(self) -> None:
        keymap = getattr(self.app, "user_keys", None)
        user = keymap.keymap if keymap is not None else {}

        def key(action_id: str) -> str:
            return effective_keys(action_id, user).split(",")[0]

        if self.kind == "reply":
            title = Content.styled("Public reply", "bold") + Content(
                f" to {safe_line(self.requester, cap=60)} via {self.channel}"
            )
            title += Content.styled("   submit as ", "dim") + Content.styled(self.submit_as, "bold reverse")
        else:
            title = Content.styled("Internal note", "bold") + Content.styled("  (the customer never sees it)", "dim")
        self.query_one("#composer-title", Static).update(title)
        macro_line = self.query_one("#composer-macro", Static)
        if self.macro is not None:
            macro_line.update(
                Content(f"macro {safe_line(self.macro.name, cap=80)} staged: {self.macro.summary}")
                + Content.styled(f"   {key('composer.undo_macro')} undoes it", "dim")
            )
            macro_line.add_class("-shown")
        else:
            macro_line.remove_class("-shown")
        hint = f"{key('composer.send')} send · "
        if self.kind == "reply":
            hint += f"{key('composer.status')} submit as · "
        hint += f"{key('composer.editor')} $EDITOR · {key('composer.attach')} attach · "
        hint += f"{key('composer.kind')} reply/note · esc hide (draft kept)"
        self.query_one("#composer-hint", Static).update(Content(hint))

    def state(self) -> dict[str, Any]:
        """What besides the text must survive a restart; nothing for an empty draft."""
        if not self.text.strip() and self.macro is None and not self.files:
            return {}
        state: dict[str, Any] = {"status": self.submit_as} if self.kind == "reply" else {}
        if self.macro is not None:
            state["macro"] = self.macro.as_state()
        if self.files:
            state["attachments"] = list(self.files)
        return state

    # --- saving as you type ---------------------------------------------------------------

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        event.stop()
        if self._loading:
            return
        if self._save_timer is not None:
            self._save_timer.stop()
        self._save_timer = self.set_timer(SAVE_DELAY, self.flush)
        now = time.monotonic()
        if now - self._typed_at > TYPING_EVERY:
            self._typed_at = now
            self.post_message(self.Typing(self.ticket_id))

    def flush(self) -> None:
        """Save the draft now (on a pause in typing, on close, before sending)."""
        if self._save_timer is not None:
            self._save_timer.stop()
            self._save_timer = None
        if self.is_open:
            self.post_message(self.DraftChanged(self.ticket_id, self.kind, self.text, self.state()))

    def take_unsaved(self) -> DraftChanged | None:
        """The draft typed since the last save, if any, with its save timer stopped: what the
        screen writes itself when the console closes, as messages are no longer handled then."""
        if self._save_timer is None or not self.is_open:
            return None
        self._save_timer.stop()
        self._save_timer = None
        return self.DraftChanged(self.ticket_id, self.kind, self.text, self.state())

    # --- actions --------------------------------------------------------------------------

    def action_send(self) -> None:
        if self.sending:
            return
        body = self.text
        if not body.strip() and not (self.macro and self.macro.has_field_changes):
            message = "write a line to go with the files" if self.files else "the draft is empty"
            self.notify(message, severity="warning")
            return
        self.flush()
        self.post_message(self.SendRequested(self.kind, body, self.submit_as, self.macro, self.files))

    def action_cycle_status(self) -> None:
        if self.kind != "reply":
            return
        index = SUBMIT_STATUSES.index(self.submit_as) if self.submit_as in SUBMIT_STATUSES else -1
        self.submit_as = SUBMIT_STATUSES[(index + 1) % len(SUBMIT_STATUSES)]
        self._draw()
        self.flush()

    def action_switch_kind(self) -> None:
        self.flush()
        self.post_message(SwitchKind("note" if self.kind == "reply" else "reply"))

    def action_close(self) -> None:
        self.close()
        self.post_message(self.Closed())

    def action_undo_macro(self) -> None:
        if self.macro is None:
            self.notify("no macro to undo", severity="warning")
            return
        macro = self.macro
        self.macro = None
        self.submit_as = macro.previous_status
        self._loading = True
        self.text_area.load_text(macro.previous_text)
        self._loading = False
        self._draw()
        self.flush()
        self.notify(f"macro {safe_line(macro.name, cap=80)} undone", markup=False)

    def stage_macro(self, macro: StagedMacro, body: str) -> None:
        """Put a macro's rendered comment in the draft; its field changes are applied on send."""
        self.macro = macro
        if macro.status in SUBMIT_STATUSES:
            self.submit_as = macro.status
        text = self.text
        self._loading = True
        self.text_area.load_text(f"{text.rstrip()}\n\n{body}".lstrip("\n") if text.strip() else body)
        self._loading = False
        self._draw()
        self.flush()

    def append(self, text: str) -> None:
        """Put text back at the end of the draft (a reply the server refused), unless it is there."""
        current = self.text
        if text.strip() and text.strip() not in current:
            self._loading = True
            self.text_area.load_text(f"{current.rstrip()}\n\n{text}" if current.strip() else text)
            self._loading = False
            self.flush()

    def insert(self, text: str) -> None:
        """Insert text (a KB link or snippet) at the cursor."""
        self.text_area.insert(text)
        self.flush()

    # --- files ----------------------------------------------------------------------------

    def action_attach(self) -> None:
        from supportdesk.tui.screens.attach_prompt import AttachPrompt

        def chosen(path: str | None) -> None:
            if path:
                self._stage(str(Path(path).expanduser()))

        self.app.push_screen(AttachPrompt(), chosen)

    @work(thread=True, group="attach", exit_on_error=False)
    def _stage(self, path: str) -> None:
        """Copy the file into the workspace (a thread: it may be large) within the limits."""
        from supportdesk.store.blobs import AttachmentLimits
        from supportdesk.sync.blob_cache import AttachError, stage

        console: Any = self.app
        try:
            limits = AttachmentLimits.from_section(console.settings.section("attachments"))
            held = sum(int(f.get("size") or 0) for f in self.files)
            items = stage(console.workspace, [Path(path)], limits)
            if held + sum(int(i["size"]) for i in items) > limits.max_message_bytes:
                raise AttachError(
                    f"the files of one message may be at most {limits.max_message_bytes:,} bytes together"
                )
        except Exception as error:  # a bad path, a limit, an unreadable file: one line
            text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            self.app.call_from_thread(self.notify, safe_line(text, cap=200), severity="error", markup=False)
            return
        self.app.call_from_thread(self._add_files, items)

    def _add_files(self, items: list[dict[str, Any]]) -> None:
        known = {f.get("sha256") for f in self.files}
        self.files.extend(item for item in items if item["sha256"] not in known)
        self.query_one(AttachChips).show(self.files)
        self.flush()
        self.notify(f"attached {safe_line(items[0]['filename'], cap=80)}", markup=False)

    def remove_file(self, index: int) -> None:
        if 0 <= index < len(self.files):
            gone = self.files.pop(index)
            self.query_one(AttachChips).show(self.files)
            self.flush()
            self.notify(f"{safe_line(gone['filename'], cap=80)} taken off the draft", markup=False)

    @on(AttachChips.Remove)
    def _chip_removed(self, message: AttachChips.Remove) -> None:
        message.stop()
        self.remove_file(message.index)

    def action_detach(self) -> None:
        if not self.files:
            self.notify("the draft has no files", severity="warning")
            return
        if len(self.files) == 1:
            self.remove_file(0)
            return
        from supportdesk.tui.screens.forms import Choice, PickerScreen
        from supportdesk.tui.widgets.attach_chips import size_label

        choices = [
            Choice(str(index), safe_line(f["filename"], cap=80), size_label(int(f.get("size") or 0)))
            for index, f in enumerate(self.files)
        ]

        def picked(value: str | None) -> None:
            if value is not None:
                self.remove_file(int(value))

        self.app.push_screen(PickerScreen("Take which file off the draft?", choices), picked)

    def clear_files(self) -> None:
        self.files = []
        self.query_one(AttachChips).show([])

    def action_edit_external(self) -> None:
        command = self.editor or os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
        with tempfile.NamedTemporaryFile("w", suffix=".txt", prefix="supportdesk-draft-", delete=False) as handle:
            handle.write(self.text)
            path = Path(handle.name)
        try:
            try:
                with self.app.suspend():
                    result = subprocess.run([*shlex.split(command), str(path)], check=False)
            except SuspendNotSupported:
                result = subprocess.run(
                    [*shlex.split(command), str(path)], check=False, stdin=subprocess.DEVNULL, capture_output=True
                )
            if result.returncode != 0:
                self.notify(
                    f"{command} exited with {result.returncode}; the draft is unchanged",
                    severity="warning",
                    markup=False,
                )
                return
            self.text_area.load_text(path.read_text(encoding="utf-8", errors="replace").rstrip("\n"))
            self.flush()
        except OSError as error:
            self.notify(f"cannot run {command}: {error.strerror or error}", severity="error", markup=False)
        finally:
            path.unlink(missing_ok=True)


class SwitchKind(Message):
    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
