"""The filter bar (``/``): the query language, checked as you type, errors shown in place."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Input, Static

from supportdesk.store.query import QueryError, parse
from supportdesk.tui.actions import bindings


class FilterBar(Vertical):
    BINDINGS = bindings("filter")
    # Always on screen (one line): focusing a widget that is still hidden would be ignored,
    # and the letters typed right after "/" would reach the queue as commands.
    DEFAULT_CSS = """
    FilterBar { height: auto; }
    FilterBar > Input { border: none; height: 1; padding: 0 1; background: $surface; }
    FilterBar > Input:focus { border: none; background: $boost; }
    FilterBar > #filter-error { color: $error; height: auto; padding: 0 1; display: none; }
    FilterBar > #filter-error.-shown { display: block; }
    """

    class Applied(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class Closed(Message):
        pass

    #: The error on show, None when the query parses.
    _error: Content | None = None

    def compose(self) -> ComposeResult:
        yield Input(
            placeholder="/ filter: status:open,pending priority>=high tag:refund assignee:me refund*",
            id="filter-input",
        )
        yield Static(id="filter-error", markup=False)

    @property
    def input(self) -> Input:
        return self.query_one(Input)

    @property
    def text(self) -> str:
        return self.input.value

    def open(self) -> None:
        self.input.focus()

    def check(self, text: str) -> QueryError | None:
        """Parse ``text``; show the error under the character where it went wrong."""
        try:
            parse(text)
        except QueryError as error:
            # the input has one cell of padding on the left
            caret = " " * min(error.position + 1, 200) + "^ "
            self._show_error(Content(caret) + Content(str(error)))
            return error
        self._show_error(None)
        return None

    def _show_error(self, message: Content | None) -> None:
        """Show or hide the error line, touching it only when it changes: each change lays the
        screen out again, which costs a frame on every keystroke of a valid query otherwise."""
        if message == self._error:
            return
        self._error = message
        error_line = self.query_one("#filter-error", Static)
        error_line.update(message or "")
        error_line.set_class(message is not None, "-shown")

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        self.check(event.value)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self.check(event.value) is None:
            self.post_message(self.Applied(event.value.strip()))

    def action_close_filter(self) -> None:
        self.post_message(self.Closed())

    def action_clear_filter(self) -> None:
        self.input.value = ""
        self.check("")
        self.post_message(self.Applied(""))
