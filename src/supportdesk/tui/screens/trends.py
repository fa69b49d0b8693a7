"""Trends, from the dashboard (``t``): this week's tickets clustered by meaning against the four
weeks before — ``supportdesk report trends`` on the screen — each cluster openable in the queue.

The clustering runs in a worker (``ConsoleDB.trends``: the vector index is brought up to date
first, with progress; the embeddings load there, never on the UI thread) and keeps only the
tickets the agent may see. Enter shows a cluster in the queue as a filter: its search term by
meaning (``~"label"``) over the last seven days, the same view ``report trends`` names. Labels are
customers' subjects: made safe and drawn as ``Content``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Static

from supportdesk.tui.actions import bindings
from supportdesk.tui.db import ReadFailed
from supportdesk.tui.text import safe_line
from supportdesk.tui.widgets.key_bar import KeyBar
from supportdesk.tui.widgets.row_list import RowList

if TYPE_CHECKING:
    from supportdesk.assist.trending import Trend
    from supportdesk.tui.console import Console

#: How many clusters the screen lists (as ``report trends``).
CLUSTERS = 10
#: How many of a cluster's ticket numbers the preview names.
NUMBERS_SHOWN = 40


class TrendsProgress(Message):
    def __init__(self, what: str) -> None:
        super().__init__()
        self.what = what


class TrendsFound(Message):
    def __init__(self, trends: list[Trend] | None, error: str | None = None) -> None:
        super().__init__()
        self.trends = trends
        self.error = error


def cluster_filter(trend: Trend) -> str:
    """The queue filter that shows a cluster: its term by meaning, over the last seven days."""
    return f"{trend.term} created<7d"


def trend_row(trend: Trend) -> Content:
    kind = "spike" if trend.spike else "steady" if trend.ratio >= 0.5 else "falling"
    style = "bold" if trend.spike else "dim" if kind == "falling" else ""
    return (
        Content.styled(f"{kind:<8}", style)
        + Content(f"{trend.recent:>5}  ×{trend.ratio:<5.1f} ")
        + Content(safe_line(trend.label, cap=120))
    )


def trend_preview(trend: Trend) -> Content:
    head = Content.styled(safe_line(trend.label, cap=200), "bold")
    counts = Content(
        f"{trend.recent} tickets in the last 7 days, {trend.before} in the 4 weeks before "
        f"(×{trend.ratio:.1f} the weekly average)"
    )
    numbers = ", ".join(f"#{n}" for n in trend.numbers[:NUMBERS_SHOWN])
    if len(trend.numbers) > NUMBERS_SHOWN:
        numbers += f" and {len(trend.numbers) - NUMBERS_SHOWN} more"
    view = Content.styled("enter shows it in the queue: ", "dim") + Content(safe_line(cluster_filter(trend), cap=200))
    return Content("\n").join([head, counts, Content(numbers or "(no numbers yet)"), Content(""), view])


class TrendsScreen(Screen[None]):
    BINDINGS = bindings("trends")
    PALETTE_SCOPES = ("trends",)
    DEFAULT_CSS = """
    TrendsScreen #trends-title { height: 1; padding: 0 1; background: $boost; text-style: bold; }
    TrendsScreen #trends-status { height: 1; padding: 0 1; color: $text-muted; }
    TrendsScreen RowList { height: auto; max-height: 12; }
    TrendsScreen VerticalScroll { height: 1fr; border-top: solid $foreground 20%; padding: 0 1; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.trends: list[Trend] = []

    @property
    def console(self) -> Console:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Static("Trends  ·  this week's tickets by meaning, against the 4 weeks before", id="trends-title")
        yield Static("", id="trends-status", markup=False)
        yield RowList(empty="no tickets this week", id="trends-list")
        with VerticalScroll():
            yield Static(id="trends-preview", markup=False)
        yield KeyBar()

    @property
    def row_list(self) -> RowList:
        return self.query_one("#trends-list", RowList)

    def on_mount(self) -> None:
        self.row_list.focus()
        self.recompute()

    def recompute(self) -> None:
        self._status("clustering this week's tickets…")
        self._compute()

    def _status(self, text: str) -> None:
        self.query_one("#trends-status", Static).update(text)

    @work(thread=True, group="trends", exclusive=True, exit_on_error=False)
    def _compute(self) -> None:
        from supportdesk import assist

        def progress(done: int, total: int) -> None:
            if total:
                self.post_message(TrendsProgress(f"indexing tickets {done:,} / {total:,}…"))

        try:
            self.console.db.update_vectors(progress)
            found = self.console.db.trends(self.console.writer.actor(), limit=CLUSTERS)
        except (assist.ModelUnavailable, assist.IndexUnavailable) as error:
            self.post_message(TrendsFound(None, f"trends are not available: {error}"))
            return
        except ReadFailed as error:
            self.post_message(TrendsFound(None, f"trends could not be computed: {error.message}"))
            return
        except Exception as error:  # one clear line on the screen, never a traceback
            self.log.error(f"trends failed: {error!r}")
            self.post_message(TrendsFound(None, f"trends could not be computed: {error}"))
            return
        self.post_message(TrendsFound(found))

    def on_trends_progress(self, message: TrendsProgress) -> None:
        self._status(message.what)

    def on_trends_found(self, message: TrendsFound) -> None:
        if message.trends is None:
            self._status(message.error or "trends are not available")
            self.notify(message.error or "trends are not available", severity="error", markup=False)
            return
        self.trends = message.trends
        spikes = sum(t.spike for t in self.trends)
        self._status(
            f"{len(self.trends)} clusters, {spikes} spike{'' if spikes == 1 else 's'} (most growth first)"
            if self.trends
            else "no tickets in the last 7 days"
        )
        self.row_list.set_rows([trend_row(t) for t in self.trends], keep_cursor=False)
        self._preview()

    @property
    def current(self) -> Trend | None:
        index = self.row_list.cursor
        return self.trends[index] if 0 <= index < len(self.trends) else None

    def _preview(self) -> None:
        trend = self.current
        self.query_one("#trends-preview", Static).update(trend_preview(trend) if trend else "")

    @on(RowList.Highlighted, "#trends-list")
    def _highlighted(self, event: RowList.Highlighted) -> None:
        event.stop()
        self._preview()

    @on(RowList.Selected, "#trends-list")
    def _selected(self, event: RowList.Selected) -> None:
        event.stop()
        self.action_open_cluster()

    def action_open_cluster(self) -> None:
        from supportdesk.tui.screens.queue import QueueScreen

        trend = self.current
        if trend is None:
            return
        queue = next((s for s in self.app.screen_stack if isinstance(s, QueueScreen)), None)
        if queue is None:
            return
        while self.app.screen is not queue:
            self.app.pop_screen()
        queue.show_filter(cluster_filter(trend))

    def action_recompute(self) -> None:
        self.recompute()

    def action_back(self) -> None:
        self.app.pop_screen()
