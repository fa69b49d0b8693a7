"""The queue screen: saved views on the left, the filter bar, the million-row queue.

The keys that act on the row under the cursor (solve, take, reply …) are the shared ticket
actions (:mod:`supportdesk.tui.ticket_actions`); this screen only says which row.
"""

from __future__ import annotations

import time

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Static

from supportdesk.store import reads
from supportdesk.store.query import QueryError, parse
from supportdesk.store.query.parser import SORT_KEYS
from supportdesk.store.reads import QueueRow, ViewRow
from supportdesk.tui.actions import bindings
from supportdesk.tui.db import ReadFailed
from supportdesk.tui.messages import StoreChanged, ViewCounted
from supportdesk.tui.screens.forms import Choice, ConfirmScreen, PickerScreen, PromptScreen
from supportdesk.tui.text import safe_line
from supportdesk.tui.ticket_actions import TicketActions, TicketRef
from supportdesk.tui.widgets.filter_bar import FilterBar
from supportdesk.tui.widgets.key_bar import KeyBar
from supportdesk.tui.widgets.queue_view import QueueHeader, QueueView
from supportdesk.tui.widgets.row_list import RowList
from supportdesk.tui.widgets.status_bar import StatusBar
from supportdesk.tui.widgets.views_sidebar import ViewsList, ViewsSidebar

#: At most one recount of every view per this many seconds, however often the store changes.
COUNT_EVERY = 5.0


class QueueScreen(TicketActions, Screen[None]):
    BINDINGS = bindings("queue")
    PALETTE_SCOPES = ("queue",)
    AUTO_FOCUS = "QueueView"
    CALL_OPENS_A_TICKET = True

    def __init__(self) -> None:
        super().__init__()
        self.views: list[ViewRow] = []
        self.view: ViewRow | None = None
        self.filter_text = ""
        self.sort: str | None = None
        self._counted_at = 0.0
        self._count_again = False
        self.sort_key = "updated"
        self.descending = True

    def compose(self) -> ComposeResult:
        queue = QueueView(self.console.db, self.console.now, id="queue")
        with Horizontal(id="queue-body"):
            yield ViewsSidebar(id="views")
            with Vertical(id="queue-pane"):
                yield Static(id="queue-title", markup=False)
                yield FilterBar(id="filter")
                yield QueueHeader(queue, id="queue-header")
                yield queue
        yield StatusBar()
        yield KeyBar()

    @property
    def queue(self) -> QueueView:
        return self.query_one(QueueView)

    @property
    def sidebar(self) -> ViewsSidebar:
        return self.query_one(ViewsSidebar)

    def on_mount(self) -> None:
        self.views = self.console.db.views(self.console.me)
        self.sidebar.set_views(self.views)
        start = str(self.console.settings.section("console").get("start_view", ""))
        chosen = next((v for v in self.views if v.name == start), self.views[0] if self.views else None)
        self.show_view(chosen)
        self._count_views()

    # --- what the queue shows -------------------------------------------------------------

    def query_text(self) -> str:
        parts = [self.view.query if self.view else "", self.filter_text]
        return " ".join(part for part in parts if part.strip())

    def show_view(self, view: ViewRow | None) -> None:
        self.view = view
        self.filter_text = ""
        self.sort = None
        self.query_one(FilterBar).input.value = ""
        self.sidebar.select(view.id if view else None)
        self.apply_query()

    def _effective_sort(self) -> str | None:
        """The agent's chosen sort, else a ``sort:`` in the query, else the view's sort.

        Free text without a chosen sort keeps the fast "newest first" walk of the index.
        """
        if self.sort is not None:
            return self.sort
        try:
            parsed = parse(self.query_text())
        except QueryError:
            return None
        if parsed.sort or (self.filter_text and parsed.has_text) or self.view is None:
            return None
        return self.view.sort

    def apply_query(self) -> None:
        # the plan is the query's; ConsoleDB keeps every page and count of it to the tickets the
        # workspace's agent may see (store.viewer), so no screen can forget the rule
        try:
            plan = reads.plan_queue(self.query_text(), me=self.console.me, sort=self._effective_sort())
        except QueryError as error:
            self.notify(f"this view's query does not parse: {error}", severity="error", markup=False)
            plan = reads.plan_queue("", me=self.console.me)
        chosen = plan.compiled.sort
        key, _, way = chosen.rpartition("-")
        self.sort_key, self.descending = (key, way == "desc") if key else (chosen, True)
        self.query_one(QueueHeader).set_sort(self.sort_key, self.descending)
        self.queue.set_plan(plan)
        self._title()

    def _title(self, total: int | None = None) -> None:
        name = safe_line(self.view.name, cap=60) if self.view else "All tickets"
        parts = [name]
        if self.filter_text:
            parts.append(f"filter: {safe_line(self.filter_text, cap=120)}")
        if total is None:
            total = self.queue.total
        parts.append("counting…" if total is None else f"{total:,} tickets")
        if self.queue.tagged:
            parts.append(f"{len(self.queue.tagged)} tagged")
        # one line of a fixed height: a new title never needs the screen laid out again
        self.query_one("#queue-title", Static).update(Content("  ·  ".join(parts)), layout=False)

    @on(QueueView.Counted)
    def _counted(self, event: QueueView.Counted) -> None:
        self._title(event.total)
        self._say_position()

    @on(QueueView.CursorMoved)
    def _moved(self, event: QueueView.CursorMoved) -> None:
        self._say_position()

    def _say_position(self) -> None:
        total = self.queue.total
        where = f"row {self.queue.cursor + 1:,}" + (f" of {total:,}" if total is not None else "")
        self.query_one(StatusBar).say(where)

    @on(QueueView.OpenRequested)
    def _open_clicked(self, event: QueueView.OpenRequested) -> None:
        self.open_ticket(None, self._ref(event.row))

    @on(QueueView.ColumnsChanged)
    def _columns_changed(self) -> None:
        self.query_one(QueueHeader).refresh()

    @on(QueueHeader.SortClicked)
    def _sort_clicked(self, event: QueueHeader.SortClicked) -> None:
        descending = not self.descending if event.key == self.sort_key else event.key in ("updated", "priority")
        self.set_sort(event.key, descending)

    def set_sort(self, key: str, descending: bool) -> None:
        self.sort = f"{key}-{'desc' if descending else 'asc'}"
        self.apply_query()

    # --- views ----------------------------------------------------------------------------

    @on(RowList.Selected)
    def _view_selected(self, event: RowList.Selected) -> None:
        if isinstance(event.row_list, ViewsList) and event.index < len(self.views):
            event.stop()
            self.show_view(self.views[event.index])
            self.queue.focus()

    def _count_views(self) -> None:
        now = time.monotonic()
        if now - self._counted_at < COUNT_EVERY:
            if not self._count_again:
                self._count_again = True
                self.set_timer(COUNT_EVERY - (now - self._counted_at), self._count_views_later)
            return
        self._counted_at = now
        self._run_counts(list(self.views))

    def _count_views_later(self) -> None:
        self._count_again = False
        self._count_views()

    @work(thread=True, group="view-counts", exclusive=True, exit_on_error=False)
    def _run_counts(self, views: list[ViewRow]) -> None:
        me = self.console.me
        for view in views:
            try:
                count = self.console.db.view_count(view, me)
            except ReadFailed:
                count = -1
            self.post_message(ViewCounted(view.id, count))

    def on_view_counted(self, message: ViewCounted) -> None:
        self.sidebar.set_count(message.view_id, message.count)

    def reload_views(self, select: str | None = None) -> None:
        self.views = self.console.db.views(self.console.me)
        self.sidebar.set_views(self.views)
        if select is not None:
            view = next((v for v in self.views if v.id == select), None)
            if view is not None:
                self.show_view(view)
        self._counted_at = 0.0
        self._count_views()

    def action_focus_views(self) -> None:
        self.sidebar.display = True
        self.sidebar.row_list.focus()

    def action_toggle_sidebar(self) -> None:
        """Hide the saved views (30 cells the queue's subjects need at 80 columns), or show them."""
        sidebar = self.sidebar
        sidebar.display = not sidebar.display
        if not sidebar.display:
            self.queue.focus()

    def action_save_view(self) -> None:
        query = self.query_text()

        def save(name: str | None) -> None:
            if name:
                args = {
                    "name": name,
                    "query": query,
                    "sort": self.sort or (self.view.sort if self.view else "updated-desc"),
                }
                self.console.write(
                    [("view.create", args)],
                    done=lambda outcomes: self.reload_views(select=outcomes[0].result.get("view_id")),
                )

        self.app.push_screen(
            PromptScreen("Save this queue as a view named", placeholder="e.g. Refunds this week"), save
        )

    def _selected_view(self) -> ViewRow | None:
        index = self.sidebar.row_list.cursor
        return self.views[index] if 0 <= index < len(self.views) else None

    def action_rename_view(self) -> None:
        view = self._selected_view()
        if view is None:
            return

        def rename(name: str | None) -> None:
            if name:
                self.console.write(
                    [("view.update", {"view_id": view.id, "name": name})], done=lambda _: self.reload_views()
                )

        self.app.push_screen(PromptScreen("Rename the view", value=view.name), rename)

    def action_delete_view(self) -> None:
        view = self._selected_view()
        if view is None:
            return

        def delete(yes: bool | None) -> None:
            if yes:
                self.console.write(
                    [("view.delete", {"id": view.id})],
                    done=lambda _: self.reload_views(select=self.views[0].id if self.views else None),
                )

        self.app.push_screen(ConfirmScreen(f"Delete the view {safe_line(view.name, cap=60)}?"), delete)

    # --- filter ---------------------------------------------------------------------------

    def action_filter(self) -> None:
        self.query_one(FilterBar).open()

    @on(FilterBar.Applied)
    def _filter_applied(self, event: FilterBar.Applied) -> None:
        self.filter_text = event.text
        self.sort = None
        self.apply_query()
        if event.text:
            self.queue.focus()

    @on(FilterBar.Closed)
    def _filter_closed(self) -> None:
        self.queue.focus()

    def show_filter(self, text: str) -> None:
        """Show every ticket that ``text`` matches, outside any saved view (a trend's cluster)."""
        self.show_view(None)
        self.query_one(FilterBar).input.value = text
        self.filter_text = text
        self.apply_query()
        self.queue.focus()

    def action_toggle_triage_columns(self) -> None:
        """``I``: the language, sentiment and intent columns (for sorting and scanning by them)."""
        self.queue.show_triage_columns(not self.queue.triage_columns)

    def action_sort(self) -> None:
        choices = [Choice(key, key) for key in SORT_KEYS]

        def chosen(key: str | None) -> None:
            if key:
                self.set_sort(key, key in ("updated", "priority", "created"))

        self.app.push_screen(PickerScreen("Sort by", choices, current=self.sort_key), chosen)

    def action_reverse_sort(self) -> None:
        if self.sort_key in SORT_KEYS:
            self.set_sort(self.sort_key, not self.descending)

    # --- acting on rows (the actions themselves: supportdesk.tui.ticket_actions) ---------------

    def acted_on(self) -> TicketRef | None:
        row = self.queue.current_row
        if row is None:
            self.notify("no ticket under the cursor", severity="warning")
            return None
        return self._ref(row)

    @staticmethod
    def _ref(row: QueueRow) -> TicketRef:
        return TicketRef(row.id, row.number, row.status)

    def ticket_list(self) -> QueueScreen:
        return self

    def step(self, step: int) -> str | None:
        """Move the cursor by ``step`` rows (``J`` / ``ctrl+k`` in the pane); the ticket there."""
        queue = self.queue
        queue._move(queue.cursor + step)
        row = queue.current_row
        return row.id if row is not None else None

    def action_tag_row(self) -> None:
        self.queue.toggle_tag()
        self.queue.action_cursor_down()
        self._title()

    def action_clear_tags(self) -> None:
        self.queue.tagged.clear()
        self.queue.refresh()
        self._title()

    def action_bulk(self) -> None:
        from supportdesk.tui.screens.bulk import run_bulk

        if not self.queue.tagged:
            self.notify("tag rows with space first, then ; applies one action to all of them", severity="warning")
            return
        run_bulk(self.console, list(self.queue.tagged.values()), done=self.action_clear_tags)

    # --- the store changed ----------------------------------------------------------------

    def on_store_changed(self, message: StoreChanged) -> None:
        try:  # compiled again against the clock: a snooze that ended brings its ticket back
            plan = reads.plan_queue(self.query_text(), me=self.console.me, sort=self._effective_sort())
        except QueryError:
            plan = None
        self.queue.reload(plan)
        self._count_views()

    def on_screen_resume(self) -> None:
        self.queue.refresh()
