"""Every SLA clock of the open ticket, one line each, under the ticket's fields.

A clock line says its target, the working time used, what is left (or how far over), and
whether it runs (and until when), is paused, breached, met or missed. The clocks come from
``domain.timing.clock_views``; the ticket pane reads them with the ticket and again on a timer.
"""

from __future__ import annotations

from datetime import datetime

from textual.content import Content
from textual.widgets import Static

from supportdesk.store.sla import ClockView
from supportdesk.tui.sla_text import METRIC_NAMES, clock_state, countdown, duration

STATE_STYLES = {
    "breached": "bold $text-error",
    "missed": "$text-error",
    "due": "bold $text-warning",
    "paused": "dim",
    "met": "$text-success",
    "running": "",
}
NAME_WIDTH = 12


def _when(moment: datetime, now: datetime) -> str:
    local, today = moment.astimezone(), now.astimezone()
    return f"{local:%H:%M}" if local.date() == today.date() else f"{local:%d %b %H:%M}"


#: Below this many cells the clocks are written compactly (``used 4h 24m of 2h 00m``), so the
#: state at the end of a line still shows at 80 columns.
COMPACT_BELOW = 100


def clock_line(clock: ClockView, now: datetime, *, compact: bool = False) -> Content:
    """``next reply  target 1h  used 20m  40m left  running, due 12:40`` with its state's colour
    (``compact``: ``next reply  20m of 1h  40m left  running, due 12:40``)."""
    state = clock_state(clock, now)
    name = METRIC_NAMES.get(clock.metric, clock.metric)
    left = clock.remaining_s
    remaining = f"{countdown(left)} left" if left >= 0 else f"{countdown(-left)} over"
    if state in ("met", "missed"):
        remaining = "" if state == "met" else f"{countdown(-left)} over"
        status = state
    elif state == "breached":
        status = f"breached {_when(clock.breached_at, now)}" if clock.breached_at else "breached"
        if clock.state == "paused":
            status += ", paused"
    elif clock.state == "paused":
        status = "paused"
    else:
        status = f"running, due {_when(clock.deadline, now)}" if clock.deadline else "running"
    if compact:
        return (
            Content(f"{name:<{NAME_WIDTH}}")
            + Content(f"{duration(clock.elapsed_s):>7}")
            + Content.styled(" of ", "dim")
            + Content(f"{duration(clock.target_s):<8}")
            + Content(f"{remaining:<13}")
            + Content.styled(status, STATE_STYLES.get(state, ""))
        )
    return (
        Content(f"{name:<{NAME_WIDTH}}")
        + Content.styled("target ", "dim")
        + Content(f"{duration(clock.target_s):<8}")
        + Content.styled("used ", "dim")
        + Content(f"{duration(clock.elapsed_s):<8}")
        + Content(f"{remaining:<13}")
        + Content.styled(status, STATE_STYLES.get(state, ""))
    )


def clocks_content(clocks: list[ClockView], now: datetime, *, compact: bool = False) -> Content:
    """First reply, next reply, resolution; of the next-reply waits, the latest in full and the
    earlier ones counted."""
    waits = [clock for clock in clocks if clock.metric == "next_reply"]
    earlier = waits[:-1]
    rows: list[Content] = []
    for metric in ("first_reply", "next_reply", "resolution"):
        for clock in clocks:
            if clock.metric == metric and (metric != "next_reply" or clock is waits[-1]):
                rows.append(clock_line(clock, now, compact=compact))
        if metric == "next_reply" and earlier:
            met = sum(1 for clock in earlier if clock_state(clock, now) == "met")
            rows.append(Content.styled(f"earlier next replies: {met} met, {len(earlier) - met} missed", "dim"))
    labels = (Content.styled("SLA ", "bold"), *[Content("    ")] * (len(rows) - 1))
    return Content("\n").join(label + row for label, row in zip(labels, rows, strict=True))


class SlaClocks(Static):
    DEFAULT_CSS = """
    SlaClocks { height: auto; padding: 0 1; background: $boost; text-wrap: nowrap; text-overflow: ellipsis; }
    SlaClocks.-none { display: none; }
    """

    _shown: tuple[list[ClockView], datetime] | None = None

    def show(self, clocks: list[ClockView], now: datetime) -> None:
        self._shown = (clocks, now)
        self.set_class(not clocks, "-none")
        compact = self.app.size.width < COMPACT_BELOW
        self.update(clocks_content(clocks, now, compact=compact) if clocks else Content(""))

    def on_resize(self) -> None:
        if self._shown is not None:
            compact = self.app.size.width < COMPACT_BELOW
            clocks, now = self._shown
            self.update(clocks_content(clocks, now, compact=compact) if clocks else Content(""))
