"""The dashboard: volume, backlog, first reply time and SLA attainment over time, and the
period's metrics by agent, group or channel.

Every figure is ``domain.metrics.build_report`` — the numbers ``supportdesk report`` prints —
computed in thread workers (a 30-day report over a million tickets takes a few tenths of a
second) and posted back as messages; the screen only draws what they bring.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import ComposeResult
from textual.containers import Grid, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Static

from supportdesk.domain.metrics import Report, series
from supportdesk.tui.actions import bindings
from supportdesk.tui.db import ReadFailed
from supportdesk.tui.text import safe_line
from supportdesk.tui.widgets.bar_chart import BarChart
from supportdesk.tui.widgets.field_lines import FieldLines, FieldLinesView, field
from supportdesk.tui.widgets.key_bar import KeyBar

if TYPE_CHECKING:
    from supportdesk.domain.self_service import SelfService
    from supportdesk.tui.console import Console


@dataclass(frozen=True)
class Period:
    label: str
    days: int
    by: str  # the chart's bucket: day, week or month


PERIODS = (
    Period("last 30 days", 30, "day"),
    Period("last 12 weeks", 84, "week"),
    Period("last 12 months", 365, "month"),
)


@dataclass(frozen=True)
class Chart:
    title: str
    metric: str
    ceiling: float | None = None


CHARTS = (
    Chart("Volume", "created"),
    Chart("Backlog", "backlog"),
    Chart("First reply", "first_reply_median_m"),
    Chart("SLA attainment", "sla_attainment_pct", ceiling=100.0),
)

#: The summary table's columns, most important first: a narrow screen keeps the first ones.
TABLE = (
    ("created", "created"),
    ("solved", "solved"),
    ("backlog", "backlog"),
    ("first_reply_median_m", "1st reply m"),
    ("sla_attainment_pct", "SLA %"),
    ("csat_pct", "CSAT %"),
    ("resolution_median_h", "resolve h"),
    ("fcr_pct", "FCR %"),
    ("reopen_pct", "reopen %"),
    ("nps", "NPS"),
    ("ces", "CES"),
    ("handle_h", "handle h"),
)
DIMENSIONS = ("agent", "group", "channel")
NAME_WIDTH = 22
#: Below this width the charts stack in one column.
TWO_COLUMNS = 110


def figure(value: Any) -> str:
    """A report value as the dashboard prints it: ``1,234``, ``91.5``, ``—`` when there is none."""
    if value is None:
        return "—"
    return f"{value:,}" if isinstance(value, int | float) else str(value)


def bucket_label(key: str) -> str:
    """``2026-11-25`` → ``11-25`` (days and weeks); months stay ``2026-11``."""
    return key[5:] if len(key) == 10 else key


class TrendComputed(Message):
    def __init__(self, period: Period, overall: Report, trend: Report, helped: SelfService | None = None) -> None:
        super().__init__()
        self.period = period
        self.overall = overall
        self.trend = trend
        self.helped = helped


class TableComputed(Message):
    def __init__(self, period: Period, by: str, report: Report) -> None:
        super().__init__()
        self.period = period
        self.by = by
        self.report = report


class DashboardFailed(Message):
    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error


def headline(overall: Report, helped: SelfService | None = None) -> FieldLines:
    row = overall.rows[0] if overall.rows else {}
    fields = (
        field("created", figure(row.get("created"))),
        field("solved", figure(row.get("solved"))),
        field("backlog", figure(row.get("backlog"))),
        field("first reply median", f"{figure(row.get('first_reply_median_m'))} min"),
        field("resolution median", f"{figure(row.get('resolution_median_h'))} h"),
        field("SLA met", f"{figure(row.get('sla_attainment_pct'))}%"),
        field("FCR", f"{figure(row.get('fcr_pct'))}%"),
        field("reopened", f"{figure(row.get('reopen_pct'))}%"),
        field("CSAT", f"{figure(row.get('csat_pct'))}%"),
        field("NPS", figure(row.get("nps"))),
        field("CES", figure(row.get("ces"))),
        field("handle", f"{figure(row.get('handle_h'))} h"),
    )
    if helped is None:
        return FieldLines(Content(""), (fields,))
    self_service = (
        field("help searches", figure(helped.searches)),
        field("article views", figure(helped.article_views)),
        field("helpful", f"{figure(helped.helpful_votes)}/{figure(helped.helpful_votes + helped.unhelpful_votes)}"),
        field("deflected", figure(helped.deflections)),
        field("form requests", figure(helped.form_tickets)),
        field("bot answers", figure(helped.bot_answers)),
        field("bot solved", figure(helped.bot_resolutions)),
    )
    return FieldLines(Content(""), (fields, self_service))


def caption(chart: Chart, period: Period, overall: Report) -> Content:
    """The chart's title, what a bar stands for, and the whole period's figure."""
    row = overall.rows[0] if overall.rows else {}
    per = f"per {period.by}"
    words = {
        "created": (f"created {per}", f"{figure(row.get('created'))} in all"),
        "backlog": (f"unsolved at each {period.by}'s end", f"{figure(row.get('backlog'))} now"),
        "first_reply_median_m": (f"median minutes {per}", f"{figure(row.get('first_reply_median_m'))} overall"),
        "sla_attainment_pct": (f"% of targets met {per}", f"{figure(row.get('sla_attainment_pct'))}% overall"),
    }
    what, total = words[chart.metric]
    return Content.styled(chart.title, "bold") + Content.styled(f"  {what} · ", "dim") + Content(total)


def table_content(report: Report, by: str, width: int) -> Content:
    """The metrics by agent, group or channel, with as many columns as fit."""
    names = [safe_line(str(row[by]), cap=NAME_WIDTH) for row in report.rows]
    name_width = min(max([len(by), *map(len, names)]), NAME_WIDTH)
    columns: list[tuple[str, str, int]] = []
    used = name_width
    for key, title in TABLE:
        column_width = max([len(title), *(len(figure(row.get(key))) for row in report.rows)])
        if used + 2 + column_width > width:
            break
        columns.append((key, title, column_width))
        used += 2 + column_width
    header = Content.styled(by.ljust(name_width) + "".join(f"  {t:>{w}}" for _, t, w in columns), "bold")
    lines = [header]
    for name, row in zip(names, report.rows, strict=True):
        cells = "".join(f"  {figure(row.get(key)):>{w}}" for key, _, w in columns)
        lines.append(Content(name.ljust(name_width)) + Content(cells))
    if not report.rows:
        lines.append(Content.styled("no tickets in this period", "dim"))
    return Content("\n").join(lines)


class SummaryTable(Static):
    """The per-agent (group, channel) table; drawn again for a new width."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.report: Report | None = None
        self.by = "agent"
        self._width = 0

    def show(self, report: Report | None, by: str) -> None:
        self.report, self.by = report, by
        self._width = self.content_region.width
        if report is None:
            self.update(Content.styled("computing…", "dim"))
        else:
            self.update(table_content(report, by, self._width or 200))

    def on_resize(self) -> None:
        if self.content_region.width != self._width:
            self.show(self.report, self.by)


class DashboardScreen(Screen[None]):
    BINDINGS = bindings("dashboard")
    PALETTE_SCOPES = ("dashboard",)
    DEFAULT_CSS = """
    DashboardScreen #dash-title { height: 1; padding: 0 1; background: $boost; text-style: bold; }
    DashboardScreen #dash-headline { height: auto; padding: 0 1; background: $boost; }
    DashboardScreen #dash-body { height: 1fr; padding: 0 1; }
    DashboardScreen #dash-charts { grid-size: 2; grid-gutter: 0 2; grid-rows: 10; height: auto; }
    DashboardScreen.-narrow #dash-charts { grid-size: 1; }
    DashboardScreen .chart { height: 10; }
    DashboardScreen .chart-caption { height: 1; }
    DashboardScreen #dash-table-title { margin: 1 0 0 0; text-style: bold; }
    DashboardScreen SummaryTable { height: auto; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.period = PERIODS[0]
        self.by = DIMENSIONS[0]
        self.overall: Report | None = None
        self.trend: Report | None = None
        self.table: Report | None = None

    @property
    def console(self) -> Console:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Static(id="dash-title", markup=False)
        yield FieldLinesView(id="dash-headline")
        with VerticalScroll(id="dash-body"):
            with Grid(id="dash-charts"):
                for chart in CHARTS:
                    with Vertical(classes="chart"):
                        yield Static(Content(chart.title), classes="chart-caption", id=f"caption-{chart.metric}")
                        yield BarChart(ceiling=chart.ceiling, label=bucket_label, id=f"chart-{chart.metric}")
            yield Static(id="dash-table-title", markup=False)
            yield SummaryTable(id="dash-table")
        yield KeyBar()

    def on_mount(self) -> None:
        self.recompute()

    def on_resize(self) -> None:
        self.set_class(self.size.width < TWO_COLUMNS, "-narrow")

    # --- computing ------------------------------------------------------------------------

    def _span(self) -> tuple[datetime, datetime]:
        now = self.console.now()
        return now - timedelta(days=self.period.days), now

    def recompute(self) -> None:
        """Compute the charts and the table again (workers; the old results stay until then)."""
        since, until = self._span()
        self._title(since, until, computing=True)
        self._compute_trend(self.period, since, until)
        self._compute_table(self.period, self.by, since, until)

    def _title(self, since: datetime, until: datetime, *, computing: bool = False) -> None:
        span = f"{since.astimezone():%Y-%m-%d} – {until.astimezone():%Y-%m-%d}"
        text = f"Dashboard  ·  {self.period.label} ({span}), by {self.period.by}"
        if computing:
            text += "  ·  computing…"
        self.query_one("#dash-title", Static).update(Content(text))
        self.query_one("#dash-table-title", Static).update(
            Content(f"By {self.by}, {self.period.label}  (a agent · g group · c channel · p period)")
        )

    def _report(self, since: datetime, until: datetime, by: str | None) -> Report:
        return self.console.db.report(since=since, until=until, by=by)

    @work(thread=True, group="dashboard-trend", exclusive=True, exit_on_error=False)
    def _compute_trend(self, period: Period, since: datetime, until: datetime) -> None:
        try:
            overall = self._report(since, until, None)
            trend = self._report(since, until, period.by)
            helped = self.console.db.self_service(since=since, until=until)
        except ReadFailed as error:
            self.post_message(DashboardFailed(error.message))
            return
        self.post_message(TrendComputed(period, overall, trend, helped))

    @work(thread=True, group="dashboard-table", exclusive=True, exit_on_error=False)
    def _compute_table(self, period: Period, by: str, since: datetime, until: datetime) -> None:
        try:
            report = self._report(since, until, by)
        except ReadFailed as error:
            self.post_message(DashboardFailed(error.message))
            return
        self.post_message(TableComputed(period, by, report))

    # --- showing --------------------------------------------------------------------------

    def on_trend_computed(self, message: TrendComputed) -> None:
        if message.period != self.period:
            return
        self.overall, self.trend = message.overall, message.trend
        self._title(message.trend.since, message.trend.until)
        self.query_one("#dash-headline", FieldLinesView).show(headline(message.overall, message.helped))
        for chart in CHARTS:
            self.query_one(f"#caption-{chart.metric}", Static).update(caption(chart, self.period, message.overall))
            self.query_one(f"#chart-{chart.metric}", BarChart).set_points(series(message.trend, chart.metric))

    def on_table_computed(self, message: TableComputed) -> None:
        if message.period != self.period or message.by != self.by:
            return
        self.table = message.report
        self.query_one(SummaryTable).show(message.report, message.by)

    def on_dashboard_failed(self, message: DashboardFailed) -> None:
        self.notify(f"the dashboard could not be computed: {message.error}", severity="error", markup=False)

    # --- keys -----------------------------------------------------------------------------

    def action_period(self) -> None:
        self.period = PERIODS[(PERIODS.index(self.period) + 1) % len(PERIODS)]
        self.recompute()

    def action_by(self, by: str) -> None:
        if by in DIMENSIONS and by != self.by:
            self.by = by
            since, until = self._span()
            self._title(since, until)
            self.query_one(SummaryTable).show(None, by)
            self._compute_table(self.period, by, since, until)

    def action_recompute(self) -> None:
        self.recompute()

    def action_trends(self) -> None:
        """``t``: this week's clusters of tickets (their own screen: clustering loads a model)."""
        from supportdesk.tui.screens.trends import TrendsScreen

        self.app.push_screen(TrendsScreen())

    def action_back(self) -> None:
        self.app.pop_screen()
