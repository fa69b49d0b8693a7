"""SLA times as the console writes them: the queue's countdown cell and the pane's clock lines.

The queue draws a cell from a :class:`~supportdesk.store.sla.RowSLA` read once per page and a
``now`` that moves: recomputing the text is a subtraction and a format, so countdowns tick on a
timer without another query.
"""

from __future__ import annotations

import math
from datetime import datetime

from supportdesk.store.sla import ClockView, RowSLA

#: Less time than this left on the nearest deadline: "due soon" (amber in the queue).
DUE_SOON_S = 3600

METRIC_NAMES = {"first_reply": "first reply", "next_reply": "next reply", "resolution": "resolution"}


def duration(seconds: float) -> str:
    """``3d 04h``, ``2h 05m``, ``42m``, ``0m`` — whole minutes, rounded down."""
    minutes = int(max(seconds, 0) // 60)
    days, minutes = divmod(minutes, 1440)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days}d {hours:02d}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m"


def countdown(seconds: float) -> str:
    """Time left, or ``-`` and the time overdue (an overdue part-minute counts as a minute)."""
    if seconds >= 0:
        return duration(seconds)
    return "-" + duration(math.ceil(-seconds / 60) * 60)


def sla_cell(sla: RowSLA | None, now: datetime) -> tuple[str, str]:
    """The queue's SLA cell: its text and its state (``breached``, ``due``, ``running``,
    ``paused``, ``met`` or ``none``), which picks the colour."""
    if sla is None:
        return "—", "none"
    state = sla.state(now)
    left = sla.seconds_left(now)
    if state == "none":
        return "—", state
    if left is not None:
        return countdown(left), state
    return ("breached" if state == "breached" else state), state


def clock_state(clock: ClockView, now: datetime) -> str:
    """``breached``, ``due``, ``running``, ``paused``, ``met`` or ``missed`` for one clock."""
    if clock.state in ("met", "missed"):
        return clock.state
    if clock.breached_at is not None and clock.breached_at <= now:
        return "breached"
    if clock.state == "running" and clock.remaining_s < DUE_SOON_S:
        return "due"
    return clock.state
