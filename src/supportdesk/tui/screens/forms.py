"""Small modal forms: pick one of a list, type one line, confirm, log a phone call."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, TypeVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.fuzzy import Matcher
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Select, Static

from supportdesk.tui.widgets.row_list import RowList

T = TypeVar("T")


@dataclass(frozen=True)
class Choice:
    value: str
    label: str
    hint: str = ""


class ListPicker(ModalScreen[T | None]):
    """A modal with one input over a :class:`RowList`: the arrows move in the list while the
    input keeps the focus, enter or a click picks the row, escape dismisses with None.
    Subclasses fill the list and say what a row index is worth (:meth:`_choose`)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down", "move(1)", show=False, priority=True),
        Binding("up", "move(-1)", show=False, priority=True),
    ]

    def action_move(self, step: int) -> None:
        rows = self.query_one(RowList)
        if step > 0:
            rows.action_cursor_down()
        else:
            rows.action_cursor_up()

    @on(Input.Submitted)
    def _submit(self, event: Input.Submitted) -> None:
        event.stop()
        self._choose(self.query_one(RowList).cursor)

    @on(RowList.Selected)
    def _selected(self, event: RowList.Selected) -> None:
        event.stop()
        self._choose(event.index)

    def _choose(self, index: int) -> None:
        raise NotImplementedError

    def action_dismiss_none(self) -> None:
        self.dismiss(None)


class PickerScreen(ListPicker[str]):
    """Choose one value; typing narrows the list (fuzzy), enter picks, escape cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss_none", "Cancel", id="picker.cancel"),
    ]

    def __init__(self, title: str, choices: list[Choice], *, current: str | None = None) -> None:
        super().__init__(classes="form")
        self.title_text = title
        self.choices = choices
        self.shown = list(choices)
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(classes="form-box"):
            yield Label(Content(self.title_text), classes="form-title")
            yield Input(placeholder="type to narrow", id="picker-input")
            yield RowList(empty="nothing matches", id="picker-list")

    def on_mount(self) -> None:
        self._draw()
        for index, choice in enumerate(self.shown):
            if choice.value == self.current:
                self.query_one(RowList).cursor = index

    def _draw(self) -> None:
        rows = []
        for choice in self.shown:
            label = Content(choice.label)
            if choice.value == self.current:
                label = Content.styled(choice.label, "bold") + Content.styled("  (now)", "dim")
            if choice.hint:
                label += Content.styled(f"  {choice.hint}", "dim")
            rows.append(label)
        self.query_one(RowList).set_rows(rows, keep_cursor=False)

    @on(Input.Changed, "#picker-input")
    def _narrow(self, event: Input.Changed) -> None:
        text = event.value.strip()
        if not text:
            self.shown = list(self.choices)
        else:
            matcher = Matcher(text)
            scored = [(matcher.match(c.label), c) for c in self.choices]
            self.shown = [c for score, c in sorted(scored, key=lambda pair: -pair[0]) if score > 0]
        self._draw()

    def _choose(self, index: int) -> None:
        if 0 <= index < len(self.shown):
            self.dismiss(self.shown[index].value)


class PromptScreen(ModalScreen[str | None]):
    """Type one line (a view's name, tags, a subject); enter accepts, escape cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss_none", "Cancel", id="prompt.cancel")]

    def __init__(self, title: str, *, value: str = "", placeholder: str = "") -> None:
        super().__init__(classes="form")
        self.title_text = title
        self.value = value
        self.placeholder = placeholder

    def compose(self) -> ComposeResult:
        with Vertical(classes="form-box"):
            yield Label(Content(self.title_text), classes="form-title")
            yield Input(value=self.value, placeholder=self.placeholder, id="prompt-input")

    @on(Input.Submitted)
    def _submit(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        self.dismiss(text or None)

    def action_dismiss_none(self) -> None:
        self.dismiss(None)


class ConfirmScreen(ModalScreen[bool]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__(classes="form")
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="form-box"):
            yield Label(Content(self.question), classes="form-title")
            yield Static(Content("y  yes      n  no"), classes="form-hint")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


@dataclass(frozen=True)
class CallLog:
    direction: str
    number: str
    duration_seconds: int
    notes: str
    caller_name: str | None


def parse_duration(text: str) -> int | None:
    """``4:30``, ``270``, ``1:02:03`` → seconds; anything else → None."""
    parts = text.strip().split(":")
    if not parts or not all(p.isdigit() for p in parts) or len(parts) > 3:
        return None
    seconds = 0
    for part in parts:
        seconds = seconds * 60 + int(part)
    return seconds if seconds <= 86_400 else None


class CallScreen(ModalScreen[CallLog | None]):
    """Log a phone call: who, which way, how long, what was said."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss_none", "Cancel", id="call.cancel"),
        Binding("ctrl+s", "save", "Save", id="call.save", priority=True),
    ]

    def __init__(self, title: str, *, number: str = "", new_ticket: bool = True) -> None:
        super().__init__(classes="form")
        self.title_text = title
        self.number = number
        self.new_ticket = new_ticket

    def compose(self) -> ComposeResult:
        with Vertical(classes="form-box call-box"):
            yield Label(Content(self.title_text), classes="form-title")
            with Horizontal(classes="form-row"):
                yield Select(
                    [("inbound (they called)", "inbound"), ("outbound (I called)", "outbound")],
                    value="inbound",
                    allow_blank=False,
                    id="call-direction",
                )
                yield Input(value=self.number, placeholder="phone number, e.g. +1 415 555 0101", id="call-number")
            with Horizontal(classes="form-row"):
                yield Input(placeholder="duration m:ss", id="call-duration")
                yield Input(placeholder="caller's name (new callers)", id="call-name", disabled=not self.new_ticket)
            yield Input(placeholder="what was said", id="call-notes")
            yield Static(id="call-error", markup=False, classes="form-error")
            yield Static(Content("ctrl+s save · esc cancel"), classes="form-hint")

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_save()

    def action_save(self) -> None:
        number = self.query_one("#call-number", Input).value.strip()
        duration = parse_duration(self.query_one("#call-duration", Input).value or "0")
        notes = self.query_one("#call-notes", Input).value.strip()
        error = self.query_one("#call-error", Static)
        if not number:
            error.update("the phone number is missing")
            return
        if duration is None:
            error.update("the duration is minutes:seconds, e.g. 4:30")
            return
        if not notes:
            error.update("write what was said")
            return
        direction = self.query_one("#call-direction", Select).value
        name = self.query_one("#call-name", Input).value.strip() or None
        self.dismiss(CallLog(str(direction), number, duration, notes, name))

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
