"""Saved views with live counts: shared ones first, then the agent's own."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Static

from supportdesk.store.reads import ViewRow
from supportdesk.tui.actions import bindings
from supportdesk.tui.text import safe_line
from supportdesk.tui.widgets.row_list import RowList


class ViewsList(RowList):
    BINDINGS = bindings("views")


class ViewsSidebar(Vertical):
    DEFAULT_CSS = """
    ViewsSidebar { width: 30; border-right: vkey $foreground 20%; }
    ViewsSidebar > #views-title { padding: 0 1; color: $text-muted; text-style: bold; }
    ViewsSidebar > ViewsList { height: 1fr; max-height: 100%; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.views: list[ViewRow] = []
        self.counts: dict[str, int] = {}
        self.current: str | None = None

    def compose(self) -> ComposeResult:
        yield Static("Views", id="views-title")
        yield ViewsList(empty="no saved views")

    @property
    def row_list(self) -> ViewsList:
        return self.query_one(ViewsList)

    def set_views(self, views: list[ViewRow]) -> None:
        self.views = views
        self._draw()

    def set_count(self, view_id: str, count: int) -> None:
        self.counts[view_id] = count
        self._draw()

    def select(self, view_id: str | None) -> None:
        self.current = view_id
        for index, view in enumerate(self.views):
            if view.id == view_id:
                self.row_list.cursor = index
        self._draw()

    def _draw(self) -> None:
        width = max(self.size.width - 4, 20)
        rows: list[Content] = []
        for view in self.views:
            count = self.counts.get(view.id)
            number = "…" if count is None else ("?" if count < 0 else f"{count:,}")
            mark = "●" if view.id == self.current else " "
            name = safe_line(view.name, cap=60)
            room = max(width - len(number) - 3, 4)
            if len(name) > room:
                name = name[: room - 1] + "…"
            label = Content(f"{mark} ")
            label += Content.styled(name, "bold") if view.id == self.current else Content(name)
            label += Content(" " * max(room - len(name), 1)) + Content.styled(number, "dim")
            if not view.shared:
                label += Content.styled(" ⌂", "dim")
            rows.append(label)
        self.row_list.set_rows(rows)
