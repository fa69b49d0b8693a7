"""``H`` in the ticket pane: the ticket's change history — who, when, from where, what.

The same read as ``tickets history`` (:mod:`supportdesk.store.history`). Values can be
customer text (a subject) and are drawn as plain ``Content``, never as markup.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from supportdesk.store.history import Change
from supportdesk.tui.text import safe_line

SOURCE_STYLES = {"rule": "$text-warning", "bot": "$text-muted", "bulk": "$text-accent"}


def history_content(title: str, changes: list[Change]) -> Content:
    lines = [Content.styled(title, "bold"), Content("")]
    if not changes:
        lines.append(Content.styled("no recorded changes", "dim"))
    for change in changes:
        when = f"{change.at.astimezone():%Y-%m-%d %H:%M}"
        lines.append(
            Content.styled(when, "dim")
            + Content("  ")
            + Content.styled(f"{change.source:<8}", SOURCE_STYLES.get(change.source, "bold"))
            + Content(f"{safe_line(change.who, cap=24):<25}")
            + Content(safe_line(change.text(), cap=200))
        )
    return Content("\n").join(lines)


class HistoryScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,H", "dismiss", "Close", id="history.close")]

    DEFAULT_CSS = """
    HistoryScreen { align: center middle; background: $background 60%; }
    HistoryScreen > #history-box {
        width: 100%; max-width: 130; height: 90%; border: thick $accent; background: $surface; padding: 0 1;
    }
    HistoryScreen #history-body { text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def __init__(self, title: str, changes: list[Change]) -> None:
        super().__init__()
        self.title_text = title
        self.changes = changes

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="history-box"):
            yield Static(history_content(self.title_text, self.changes), id="history-body")

    def on_mount(self) -> None:
        self.query_one("#history-box").scroll_end(animate=False)  # the latest change is what one looks for
