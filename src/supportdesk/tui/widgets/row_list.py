"""A small list drawn line by line: views, pickers, macros, articles, a customer's tickets.

Each row is one line of ``Content`` (never markup), so a macro name or a ticket subject shows
exactly as written. Lists here hold at most a few hundred rows; the million-row queue has its
own widget with a page cache.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual.content import Content
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.style import Style as TextualStyle

from supportdesk.tui.actions import bindings


class RowMessage(Message):
    def __init__(self, row_list: RowList, index: int) -> None:
        super().__init__()
        self.row_list = row_list
        self.index = index

    @property
    def control(self) -> RowList:
        return self.row_list


class RowList(ScrollView, can_focus=True):
    """Rows of ``Content`` with a cursor; posts :class:`Highlighted` and :class:`Selected`."""

    BINDINGS = bindings("list")
    COMPONENT_CLASSES: ClassVar[set[str]] = {"row-list--cursor", "row-list--dim"}
    DEFAULT_CSS = """
    RowList { height: auto; max-height: 100%; overflow-x: hidden; }
    RowList > .row-list--cursor { background: $block-cursor-blurred-background; }
    RowList:focus > .row-list--cursor { background: $block-cursor-background; color: $block-cursor-foreground; }
    RowList > .row-list--dim { color: $text-muted; }
    """

    cursor = reactive(0, always_update=True)

    class Highlighted(RowMessage):
        """The cursor moved to row ``index``."""

    class Selected(RowMessage):
        """Row ``index`` was chosen (enter, or a click on the cursor row)."""

    def __init__(self, rows: Sequence[Content] = (), *, empty: str = "nothing here", **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._rows: list[Content] = list(rows)
        self.empty = empty

    @property
    def rows(self) -> list[Content]:
        return self._rows

    def set_rows(self, rows: Sequence[Content], *, keep_cursor: bool = True) -> None:
        self._rows = list(rows)
        self.virtual_size = Size(self.size.width, max(len(self._rows), 1))
        self.cursor = min(self.cursor, max(len(self._rows) - 1, 0)) if keep_cursor else 0
        self.refresh()

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return max(len(self._rows), 1)

    def on_mount(self) -> None:
        self.virtual_size = Size(self.size.width, max(len(self._rows), 1))

    def on_resize(self) -> None:
        self.virtual_size = Size(self.size.width, max(len(self._rows), 1))

    def watch_cursor(self, old: int, new: int) -> None:
        self.refresh()
        if self._rows:
            self.scroll_to_region_y(new)
            self.post_message(self.Highlighted(self, new))

    def scroll_to_region_y(self, index: int) -> None:
        top = round(self.scroll_y)
        height = self.scrollable_content_region.height
        if index < top:
            self.scroll_to(y=index, animate=False)
        elif index >= top + height:
            self.scroll_to(y=index - height + 1, animate=False)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        index = round(self.scroll_y) + y
        base = self.rich_style
        if not self._rows:
            if y == 0:
                dim = self.get_component_rich_style("row-list--dim")
                return Strip([Segment(f" {self.empty}", dim)]).adjust_cell_length(width, base)
            return Strip.blank(width, base)
        if index >= len(self._rows):
            return Strip.blank(width, base)
        style = base
        if index == self.cursor:
            style = base + self.get_component_rich_style("row-list--cursor")
        segments = self._rows[index].render_segments(_content_style(style))
        return Strip([Segment(" ", style), *segments]).adjust_cell_length(width, style)

    # --- keys and mouse -------------------------------------------------------------------

    def action_cursor_down(self) -> None:
        if self._rows:
            self.cursor = min(self.cursor + 1, len(self._rows) - 1)

    def action_cursor_up(self) -> None:
        if self._rows:
            self.cursor = max(self.cursor - 1, 0)

    def action_page_down(self) -> None:
        if self._rows:
            self.cursor = min(self.cursor + max(self.size.height - 1, 1), len(self._rows) - 1)

    def action_page_up(self) -> None:
        if self._rows:
            self.cursor = max(self.cursor - max(self.size.height - 1, 1), 0)

    def action_first(self) -> None:
        if self._rows:
            self.cursor = 0

    def action_last(self) -> None:
        if self._rows:
            self.cursor = len(self._rows) - 1

    def action_select(self) -> None:
        if self._rows:
            self.post_message(self.Selected(self, self.cursor))

    def on_click(self, event: object) -> None:
        offset = getattr(event, "y", 0)
        index = round(self.scroll_y) + int(offset)
        if 0 <= index < len(self._rows):
            if index == self.cursor:
                self.action_select()
            else:
                self.cursor = index


def _content_style(style: Style) -> TextualStyle:
    return TextualStyle.from_rich_style(style)
