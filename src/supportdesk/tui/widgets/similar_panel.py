"""The similar-tickets panel beside a ticket: solved ones first, each with how it was solved.

The ticket screen fills it from a worker (``ConsoleDB.similar_tickets``, which leaves out the
tickets the agent may not see); the panel only draws and says what the agent wants
(:class:`SimilarPanel.Opening`, :class:`SimilarPanel.Closed`). Subjects and replies are customer
and agent text: made safe and drawn as ``Content``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import Static

from supportdesk.tui.actions import bindings
from supportdesk.tui.text import safe, safe_line
from supportdesk.tui.widgets.row_list import RowList
from supportdesk.tui.widgets.side_panels import PANEL_CSS

if TYPE_CHECKING:
    from supportdesk.assist.similar import SimilarTicket

_SOLVED = ("solved", "closed")


def similar_row(item: SimilarTicket) -> Content:
    number = f"#{item.number}" if item.number is not None else "#…"
    status = item.status.replace("_", " ")
    style = "bold" if item.status in _SOLVED else "dim"
    return (
        Content.styled(f"{number:>7} ", "bold")
        + Content.styled(f"{status:<8} ", style)
        + Content(safe_line(item.subject, cap=160) or "(no subject)")
    )


def similar_preview(item: SimilarTicket) -> Content:
    number = f"#{item.number}" if item.number is not None else "(number pending)"
    head = Content.styled(f"{number}  ", "bold") + Content.styled(safe_line(item.subject, cap=200), "bold")
    about = Content.styled(f"{item.status.replace('_', ' ')} · {round(item.score * 100)}% alike", "dim")
    if item.solution:
        body = Content.styled("How it was solved (the last public reply):", "bold") + Content("\n")
        body += Content(safe(item.solution))
    elif item.status in _SOLVED:
        body = Content.styled("solved without a public reply", "dim")
    else:
        body = Content.styled("not solved yet: enter opens it", "dim")
    return head + Content("\n") + about + Content("\n\n") + body


class SimilarPanel(Vertical):
    BINDINGS = bindings("similar")
    DEFAULT_CSS = PANEL_CSS.format(name="SimilarPanel")

    class Opening(Message):
        def __init__(self, ticket_id: str) -> None:
            super().__init__()
            self.ticket_id = ticket_id

    class Closed(Message):
        pass

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.items: list[SimilarTicket] = []
        self.ticket_id: str | None = None

    def compose(self) -> ComposeResult:
        yield Static("Similar tickets", classes="panel-title")
        yield Static("", id="similar-subtitle", classes="panel-subtitle", markup=False)
        yield RowList(empty="no similar ticket", id="similar-list")
        with VerticalScroll():
            yield Static(id="similar-preview", markup=False)

    @property
    def row_list(self) -> RowList:
        return self.query_one("#similar-list", RowList)

    def waiting(self, ticket_id: str, what: str) -> None:
        """The ticket's tickets are being looked for (``what``: indexing progress, loading …)."""
        if ticket_id != self.ticket_id:
            self.ticket_id = ticket_id
            self.items = []
            self.row_list.set_rows([], keep_cursor=False)
            self.query_one("#similar-preview", Static).update("")
        self.query_one("#similar-subtitle", Static).update(what)

    def set_items(self, ticket_id: str, items: list[SimilarTicket]) -> None:
        self.ticket_id = ticket_id
        self.items = items
        solved = sum(item.status in _SOLVED for item in items)
        subtitle = f"{len(items)} alike, {solved} solved · enter opens" if items else "none alike"
        self.query_one("#similar-subtitle", Static).update(subtitle)
        self.row_list.set_rows([similar_row(item) for item in items], keep_cursor=False)
        self._preview_current()

    def failed(self, message: str) -> None:
        self.query_one("#similar-subtitle", Static).update(safe_line(message, cap=200))

    @property
    def current(self) -> SimilarTicket | None:
        index = self.row_list.cursor
        return self.items[index] if 0 <= index < len(self.items) else None

    def _preview_current(self) -> None:
        item = self.current
        self.query_one("#similar-preview", Static).update(similar_preview(item) if item else "")

    @on(RowList.Highlighted, "#similar-list")
    def _highlighted(self, event: RowList.Highlighted) -> None:
        event.stop()
        self._preview_current()

    @on(RowList.Selected, "#similar-list")
    def _selected(self, event: RowList.Selected) -> None:
        event.stop()
        self.action_open()

    def action_open(self) -> None:
        if self.current is not None:
            self.post_message(self.Opening(self.current.ticket_id))

    def action_close(self) -> None:
        self.post_message(self.Closed())
