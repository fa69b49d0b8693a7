"""SLA state on the read path: the queue's countdown column and the ticket pane's clocks.

Plain ``sqlite3`` (no ORM), one indexed query per page: ``ticket_timing`` already holds each
ticket's nearest deadline, so a page of 50 rows costs one primary-key probe per row and no
business-hours arithmetic at all.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from supportdesk.store.times import from_db

#: ``ticket_timing.due_at`` of a ticket with no running clock: sorts after every real deadline,
#: so "sort by time to breach" walks one index and tickets without a deadline come last.
NO_DEADLINE = datetime(9999, 12, 31, tzinfo=UTC)
NO_DEADLINE_DB = "9999-12-31 00:00:00.000000"


@dataclass(frozen=True)
class RowSLA:
    """What the queue shows for one ticket: the nearest deadline, or why there is none."""

    due_at: datetime | None
    breach_at: datetime | None
    paused: bool
    has_policy: bool

    def seconds_left(self, now: datetime) -> float | None:
        """Time to the nearest running deadline (negative once it passed); None if none runs."""
        return (self.due_at - now).total_seconds() if self.due_at is not None else None

    def breached(self, now: datetime) -> bool:
        return self.breach_at is not None and self.breach_at <= now

    def state(self, now: datetime) -> str:
        """``breached``, ``due`` (under an hour left), ``running``, ``paused``, ``met`` or ``none``."""
        if not self.has_policy:
            return "none"
        if self.breached(now):
            return "breached"
        if self.paused:
            return "paused"
        left = self.seconds_left(now)
        if left is None:
            return "met"
        return "due" if left < 3600 else "running"


def page_sla(connection: sqlite3.Connection, ticket_ids: list[str]) -> dict[str, RowSLA]:
    """The SLA of every ticket on a queue page, in one query."""
    if not ticket_ids:
        return {}
    marks = ",".join("?" * len(ticket_ids))
    found: dict[str, RowSLA] = {}
    for ticket_id, due_at, breach_at, paused, policy_id in connection.execute(
        f"SELECT ticket_id, due_at, breach_at, paused, policy_id FROM ticket_timing WHERE ticket_id IN ({marks})",
        ticket_ids,
    ):
        found[ticket_id] = RowSLA(
            due_at=None if due_at == NO_DEADLINE_DB else from_db(due_at),
            breach_at=from_db(breach_at),
            paused=bool(paused),
            has_policy=policy_id is not None,
        )
    return found


@dataclass(frozen=True)
class ClockView:
    """One SLA clock of a ticket as the ticket pane shows it (working seconds)."""

    metric: str
    target_s: float
    elapsed_s: float
    state: str  # running | paused | met | missed
    deadline: datetime | None
    breached_at: datetime | None

    @property
    def remaining_s(self) -> float:
        return self.target_s - self.elapsed_s

    def as_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "state": self.state,
            "target_minutes": round(self.target_s / 60, 1),
            "elapsed_minutes": round(self.elapsed_s / 60, 1),
            "remaining_minutes": round(self.remaining_s / 60, 1),
            "deadline": self.deadline,
            "breached_at": self.breached_at,
        }


def stored_clocks(connection: sqlite3.Connection, ticket_id: str) -> list[dict[str, Any]]:
    row = connection.execute("SELECT clocks FROM ticket_timing WHERE ticket_id = ?", (ticket_id,)).fetchone()
    return json.loads(row[0]) if row and row[0] else []
