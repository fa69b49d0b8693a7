"""The ticket queue: a Line-API view over a million rows.

Only the visible lines are drawn (``render_line``), from a page cache (:class:`QueueModel`).
A missing page is drawn as a placeholder while a thread worker reads it from SQLite by keyset
and posts :class:`PageLoaded`; the count and the jump anchors come the same way. Cells are
plain strings made safe (:mod:`supportdesk.tui.text`) and drawn as segments: nothing a customer
typed is ever parsed as markup.

The SLA column is read with its page (``store.sla.page_sla``: one query) and drawn against the
clock, so its countdowns tick on a timer that repaints only when a visible cell changes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import ClassVar

from rich.cells import set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events, on, work
from textual.geometry import Size
from textual.message import Message
from textual.reactive import var
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.timer import Timer
from textual.widget import Widget

from supportdesk.store.reads import QueuePlan, QueueRow
from supportdesk.store.sla import RowSLA
from supportdesk.store.times import relative
from supportdesk.tui.actions import bindings
from supportdesk.tui.db import ConsoleDB, Interrupts, ReadFailed
from supportdesk.tui.messages import AnchorsLoaded, CountLoaded, PageLoaded, QueueFailed
from supportdesk.tui.queue_model import PAGE, FetchSpec, QueueModel
from supportdesk.tui.sla_text import sla_cell
from supportdesk.tui.text import safe_line
from supportdesk.tui.widgets.queue_columns import Column, column_starts, layout

PREFETCH = PAGE // 2
#: The SLA cell's colour for each state (``tui.sla_text.sla_cell``); running ones stay plain.
SLA_STYLES = {
    "breached": "queue--sla-breached",
    "due": "queue--sla-due",
    "paused": "queue--sla-paused",
    "met": "queue--sla-met",
    "none": "queue--dim",
}
#: Component styles that colour a whole row; the others colour one cell.
ROW_STYLES = frozenset({"queue--cursor", "queue--tagged", "queue--placeholder"})
#: Seconds the rows of the previous query stay on screen while a new query's first page loads.
HOLD = 0.15
#: Seconds between looks at whether a visible SLA countdown changed.
SLA_TICK = 1.0


def _cell(text: str, column: Column) -> str:
    if column.align == "right":
        text = text[-column.width :] if len(text) > column.width else text
        return set_cell_size(text.rjust(column.width), column.width)
    return set_cell_size(text, column.width)


class QueueView(ScrollView, can_focus=True):
    BINDINGS = bindings("queue-list")
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "queue--cursor",
        "queue--tagged",
        "queue--unread",
        "queue--placeholder",
        "queue--new",
        "queue--open",
        "queue--pending",
        "queue--on_hold",
        "queue--solved",
        "queue--closed",
        "queue--urgent",
        "queue--high",
        "queue--dim",
        "queue--sla-breached",
        "queue--sla-due",
        "queue--sla-paused",
        "queue--sla-met",
    }

    cursor = var(0, always_update=True)

    class CursorMoved(Message):
        def __init__(self, index: int, row: QueueRow | None) -> None:
            super().__init__()
            self.index = index
            self.row = row

    class OpenRequested(Message):
        def __init__(self, row: QueueRow) -> None:
            super().__init__()
            self.row = row

    class Counted(Message):
        def __init__(self, total: int) -> None:
            super().__init__()
            self.total = total

    class ColumnsChanged(Message):
        """The columns were laid out again (a resize, or the scrollbar came or went): the
        header above must be drawn again, or its titles sit two cells off their cells."""

    class FirstPage(Message):
        """The first page of a new query is on screen (the benchmarks and the title use it)."""

    def __init__(self, db: ConsoleDB, clock: Callable[[], datetime], **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.db = db
        self.clock = clock
        self.model: QueueModel | None = None
        #: The previous query's rows, drawn until the new query's first page arrives.
        self._held: QueueModel | None = None
        self._hold_timer: Timer | None = None
        self.tagged: dict[str, QueueRow] = {}
        self.error: str | None = None
        self._generation = 0
        self._columns: list[Column] = layout(80)
        #: Whether the triage fields have columns (``I``).
        self.triage_columns = False
        self._layout_width = 80
        self._fetch_scheduled = False
        self._follow_id: str | None = None
        self._interrupts = Interrupts()
        self._styles: dict[str, Style] = {}
        self._countdowns: tuple[str, ...] = ()

    def on_mount(self) -> None:
        self.set_interval(SLA_TICK, self.tick, name="sla-countdown")

    # --- the query ------------------------------------------------------------------------

    @property
    def columns(self) -> list[Column]:
        return self._columns

    def set_plan(self, plan: QueuePlan) -> None:
        """Show a new query from its first row; running queries of the old one are interrupted."""
        self._generation += 1
        self._interrupt_stale()
        previous = self.model
        self.model = QueueModel(plan, self._generation)
        self.error = None
        self._follow_id = None
        if self.is_mounted and previous is not None and previous.pages:
            # Keep the old rows on screen until the first page comes (at most HOLD seconds): an
            # empty frame drawn meanwhile would delay the one the agent waits for by a frame or two.
            self._hold(previous)
        self.cursor = 0
        self.scroll_to(y=0, animate=False)
        if self._held is None:
            self._resize_virtual()
        if self.is_mounted:
            self._fetch_visible()  # now, not after the next frame: the page is what the agent waits for
        else:
            self._schedule_fetch()
        # the count and the anchors follow the first page (see _page_loaded)

    def reload(self, plan: QueuePlan | None = None) -> None:
        """Re-read the visible pages and the count (the store changed); keep the cursor's ticket.

        ``plan``: the same query compiled again — a query is compiled against the clock (a
        snooze's end, ``updated<2h``), so a re-read with the old plan would keep its old "now".
        """
        if self.model is None:
            return
        if plan is not None:
            self.model.plan = plan
        current = self.current_row
        self._follow_id = current.id if current else None
        self.model.clear()
        self._schedule_fetch()
        self._count(self.model)
        self.refresh()

    def _hold(self, previous: QueueModel) -> None:
        if self._held is None:
            self._held = previous
        if self._hold_timer is not None:
            self._hold_timer.stop()
        self._hold_timer = self.set_timer(HOLD, self._release)

    def _release(self) -> None:
        """Draw the current query from now on (its first page arrived, it failed, or time is up)."""
        if self._hold_timer is not None:
            self._hold_timer.stop()
            self._hold_timer = None
        if self._held is not None:
            self._held = None
            self._resize_virtual()
            self.refresh()

    def _interrupt_stale(self) -> None:
        self._interrupts.stop_all_but(self._generation)

    def _resize_virtual(self) -> None:
        """Give the queue its new number of rows.

        Textual's ``virtual_size`` reactive lays the whole screen out again and repaints it
        (about 15 ms at 160×48), and a new query changes the height twice (its first page, then
        its count) — on the path from enter to the first row. Only this widget's scrollbar
        depends on it, so once mounted the size is set quietly and the scrollbar updated here;
        a scrollbar that appears or goes still lays the screen out, through Textual.
        """
        size = Size(self.scrollable_content_region.width, self.model.height if self.model else 0)
        if size == self.virtual_size:
            return
        if not self.is_mounted or not self.container_size:
            self.virtual_size = size
            return
        self.set_reactive(QueueView.virtual_size, size)
        self._scroll_update(size)  # Textual's own step for a new virtual size (textual is pinned)
        self.refresh()

    # --- styles ---------------------------------------------------------------------------

    def _style(self, name: str) -> Style:
        """A component style, kept until the theme or CSS changes (``refresh`` would drop
        Textual's own cache on every key).

        The row's background (cursor, tagged) is laid on the whole line; a cell's own style
        (a status colour, bold for unread) is partial, so it never paints the widget's
        background over the row's.
        """
        style = self._styles.get(name)
        if style is None:
            if name == "base":
                style = self.rich_style
            else:
                style = self.get_component_rich_style(name, partial=name not in ROW_STYLES)
            self._styles[name] = style
        return style

    def notify_style_update(self) -> None:
        self._styles.clear()
        super().notify_style_update()

    def on_focus(self) -> None:
        self._styles.clear()
        self.refresh()

    def on_blur(self) -> None:
        self._styles.clear()
        self.refresh()

    # --- rows -----------------------------------------------------------------------------

    @property
    def current_row(self) -> QueueRow | None:
        return self.model.row(self.cursor) if self.model else None

    @property
    def total(self) -> int | None:
        return self.model.total if self.model else None

    def _fit_columns(self, width: int) -> None:
        if width != self._layout_width:
            self._layout_width = width
            self._columns = layout(width, triage=self.triage_columns)
            self.post_message(self.ColumnsChanged())

    def show_triage_columns(self, show: bool) -> None:
        """Add or remove the language, sentiment and intent columns (laid out again at once)."""
        self.triage_columns = show
        self._layout_width = -1
        self._fit_columns(self.scrollable_content_region.width)
        self.refresh()

    def on_resize(self, event: events.Resize) -> None:
        self._fit_columns(self.scrollable_content_region.width)
        self._resize_virtual()
        self._schedule_fetch()

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        self._fit_columns(width)
        base = self._style("base")
        model = self._held or self.model
        index = round(self.scroll_y) + y
        if model is None or index >= model.height:
            if y == 0 and model is not None and not model.loading and model.height == 0:
                text = self.error or "no tickets match"
                return Strip([Segment(f"  {text}", base + self._style("queue--dim"))]).adjust_cell_length(width, base)
            return Strip.blank(width, base)
        row = model.row(index)
        if row is None:
            if model is self.model:
                self._schedule_fetch()
            style = base + self._style("queue--placeholder")
            if index == self.cursor:
                style += self._style("queue--cursor")
            return Strip([Segment("   ·", style)]).adjust_cell_length(width, style)
        return self._row_strip(model, row, index, width, base)

    def _row_strip(self, model: QueueModel, row: QueueRow, index: int, width: int, base: Style) -> Strip:
        style = base
        tagged = row.id in self.tagged
        if tagged:
            style += self._style("queue--tagged")
        if index == self.cursor:
            style += self._style("queue--cursor")
        unread = not row.seen
        sla = model.row_sla(index, row.id)
        now = self.clock()
        # the focused cursor row is drawn in the cursor's colours, the cells' own included
        over = self._style("queue--cursor") if index == self.cursor and self.has_focus else None
        segments: list[Segment] = []
        for column in self._columns:
            text, extra = self._value(row, column.key, unread, tagged, sla, now)
            cell = style if extra is None else style + extra if over is None else style + extra + over
            # one segment per cell, its separating space included: fewer pieces per frame
            segments.append(Segment(_cell(text, column) + " ", cell))
        return Strip(segments).adjust_cell_length(width, style)

    def _value(
        self, row: QueueRow, key: str, unread: bool, tagged: bool, sla: RowSLA | None, now: datetime
    ) -> tuple[str, Style | None]:
        component = self._style
        if key == "mark":
            mark = ("▶" if tagged else " ") + ("●" if unread else " ")
            return mark, component("queue--unread") if unread else None
        if key == "number":
            return (str(row.number) if row.number is not None else "—"), None
        if key == "subject":
            return safe_line(row.subject, cap=300), component("queue--unread") if unread else None
        if key == "requester":
            return safe_line(row.requester, cap=80), None
        if key == "status":
            return row.status.replace("_", " "), component(f"queue--{row.status}")
        if key == "priority":
            extra = component(f"queue--{row.priority}") if row.priority in ("urgent", "high") else None
            return row.priority, extra
        if key == "assignee":
            return (safe_line(row.assignee, cap=80) if row.assignee else "—"), None
        if key == "group":
            return (safe_line(row.group, cap=80) if row.group else "—"), None
        if key == "channel":
            return row.channel, None
        if key == "sla":
            text, state = sla_cell(sla, now)
            name = SLA_STYLES.get(state)
            return text, component(name) if name else None
        if key == "updated":
            return relative(row.updated_at, now), component("queue--dim")
        if key == "sentiment" and row.value(key) == "negative":  # an upset customer stands out
            return "negative", component("queue--high")
        value = row.value(key)  # any other field of the ticket field table with a queue column
        return (safe_line(str(value).replace("_", " "), cap=80) if value is not None else "—"), None

    # --- SLA countdowns -------------------------------------------------------------------

    def tick(self) -> None:
        """Repaint if a visible SLA cell reads differently now (no query: the rows hold the deadlines)."""
        model = self.model
        if model is None or not any(column.key == "sla" for column in self._columns):
            return
        now = self.clock()
        top = round(self.scroll_y)
        shown = []
        for index in range(top, min(top + self.scrollable_content_region.height, model.height)):
            row = model.row(index)
            if row is not None:
                shown.append(sla_cell(model.row_sla(index, row.id), now)[0])
        countdowns = tuple(shown)
        if countdowns != self._countdowns:
            self._countdowns = countdowns
            self.refresh()

    # --- fetching -------------------------------------------------------------------------

    def _schedule_fetch(self) -> None:
        if not self._fetch_scheduled:
            self._fetch_scheduled = True
            self.call_after_refresh(self._fetch_visible)

    def _fetch_visible(self) -> None:
        self._fetch_scheduled = False
        model = self.model
        if model is None:
            return
        top = round(self.scroll_y)
        height = max(self.scrollable_content_region.height, 1)
        wanted = sorted(
            model.missing(top - PREFETCH, top + height + PREFETCH),
            key=lambda page: abs(page * PAGE - top),
        )
        for page in wanted:
            spec = model.fetch_spec(page)
            if spec is not None:
                model.pending.add(page)
                self._load_page(model, spec)

    @work(thread=True, group="queue-pages", exit_on_error=False)
    def _load_page(self, model: QueueModel, spec: FetchSpec) -> None:
        try:
            page, sla = self.db.queue_page(
                model.plan,
                after=spec.after,
                limit=spec.limit,
                reverse=spec.reverse,
                interrupts=self._interrupts,
                generation=model.generation,
            )
        except ReadFailed as error:
            self.post_message(QueueFailed(model.generation, error.message))
            return
        self.post_message(PageLoaded(model.generation, spec.page, page.rows, page.more, not spec.reverse, sla))

    @work(thread=True, group="queue-count", exit_on_error=False)
    def _count(self, model: QueueModel) -> None:
        interrupts, generation = self._interrupts, model.generation
        try:
            total = self.db.queue_count(model.plan, interrupts=interrupts, generation=generation)
            self.post_message(CountLoaded(generation, total))
            if total > PAGE * 2:
                anchors = self.db.queue_anchors(model.plan, PAGE, interrupts=interrupts, generation=generation)
                self.post_message(AnchorsLoaded(generation, anchors))
        except ReadFailed as error:
            if not error.interrupted:
                self.post_message(QueueFailed(model.generation, error.message))

    @on(PageLoaded)
    def _page_loaded(self, message: PageLoaded) -> None:
        message.stop()
        model = self.model
        if model is None or message.generation != model.generation:
            return
        first = message.page == 0 and not model.pages
        model.store(message.page, message.rows, message.more, forward=message.forward, sla=message.sla)
        if self._held is not None:
            self._release()
        if self._follow_id is not None:
            found = model.find(self._follow_id)
            if found is not None:
                self._follow_id = None
                if found != self.cursor:
                    self.cursor = found
        self._resize_virtual()
        self.refresh()
        self._schedule_fetch()
        if first:
            if model.total is None:
                # only once this page is drawn: on two cores the count (and the anchors after
                # it) would otherwise compete with the page and its frame
                self.call_after_refresh(self._count, model)
            self.post_message(self.FirstPage())
            self.post_message(self.CursorMoved(self.cursor, self.current_row))

    @on(CountLoaded)
    def _count_loaded(self, message: CountLoaded) -> None:
        message.stop()
        if self.model is None or message.generation != self.model.generation:
            return
        self.model.set_total(message.total)
        if self.cursor >= message.total:
            self.cursor = max(message.total - 1, 0)
        self._resize_virtual()
        self.refresh()
        self._schedule_fetch()
        self.post_message(self.Counted(message.total))

    @on(AnchorsLoaded)
    def _anchors_loaded(self, message: AnchorsLoaded) -> None:
        message.stop()
        if self.model is None or message.generation != self.model.generation:
            return
        self.model.anchors = message.anchors
        self._schedule_fetch()

    @on(QueueFailed)
    def _failed(self, message: QueueFailed) -> None:
        message.stop()
        if self.model is None or message.generation != self.model.generation:
            return
        if "interrupted" in message.error:
            return
        self._release()
        self.error = f"the query failed: {message.error}"
        self.notify(self.error, severity="error", markup=False)
        self.model.pending.clear()
        self.refresh()

    # --- cursor ---------------------------------------------------------------------------

    def watch_cursor(self, old: int, new: int) -> None:
        top = round(self.scroll_y)
        height = max(self.scrollable_content_region.height, 1)
        if new < top:
            self.scroll_to(y=new, animate=False, immediate=True)
        elif new >= top + height:
            self.scroll_to(y=new - height + 1, animate=False, immediate=True)
        else:
            # the rest of the screen is unchanged: repaint the two rows the cursor left and entered
            self.refresh_line(old)
            self.refresh_line(new)
        self.post_message(self.CursorMoved(new, self.current_row))

    def _move(self, index: int) -> None:
        if self.model is None:
            return
        last = max(self.model.height - 1, 0)
        self.cursor = max(0, min(index, last))

    def action_cursor_down(self) -> None:
        self._move(self.cursor + 1)

    def action_cursor_up(self) -> None:
        self._move(self.cursor - 1)

    def action_page_down(self) -> None:
        self._move(self.cursor + max(self.scrollable_content_region.height - 1, 1))

    def action_page_up(self) -> None:
        self._move(self.cursor - max(self.scrollable_content_region.height - 1, 1))

    def action_first(self) -> None:
        self._move(0)

    def action_last(self) -> None:
        if self.model is not None and self.model.total is None and not self.model.loading:
            self._move(self.model.height - 1)
        elif self.model is not None and self.model.total is not None:
            self._move(self.model.total - 1)

    def on_click(self, event: events.Click) -> None:
        if self.model is None:
            return
        index = round(self.scroll_y) + event.y
        if index >= self.model.height:
            return
        if index == self.cursor or event.chain > 1:
            row = self.current_row
            if row is not None:
                self.post_message(self.OpenRequested(row))
        else:
            self.cursor = index

    def toggle_tag(self) -> None:
        row = self.current_row
        if row is None:
            return
        if row.id in self.tagged:
            del self.tagged[row.id]
        else:
            self.tagged[row.id] = row
        self.refresh()


class QueueHeader(Widget):
    """The column titles; clicking one sorts by it (again: the other way)."""

    DEFAULT_CSS = "QueueHeader { height: 1; }"

    class SortClicked(Message):
        def __init__(self, key: str) -> None:
            super().__init__()
            self.key = key

    def __init__(self, queue: QueueView, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.queue = queue
        self.sort_key = "updated"
        self.descending = True

    def set_sort(self, key: str, descending: bool) -> None:
        self.sort_key, self.descending = key, descending
        self.refresh()

    def render_line(self, y: int) -> Strip:
        style = self.rich_style
        segments: list[Segment] = []
        for column in self.queue.columns:
            title = column.title
            if column.key == self.sort_key:
                title = f"{title}{'↓' if self.descending else '↑'}"
            segments.append(Segment(_cell(title, column), style))
            segments.append(Segment(" ", style))
        # as wide as the rows under it: the queue's width less its scrollbar when it shows one
        return (
            Strip(segments)
            .adjust_cell_length(self.queue.scrollable_content_region.width, style)
            .extend_cell_length(self.size.width, style)
        )

    def on_click(self, event: events.Click) -> None:
        starts = column_starts(self.queue.columns)
        for column in self.queue.columns:
            x = starts[column.key]
            if x <= event.x < x + column.width + 1 and column.sortable:
                self.post_message(self.SortClicked(column.key))
                return
