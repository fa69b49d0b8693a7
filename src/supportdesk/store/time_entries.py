"""A ticket's time on the read path: the entries agents logged by hand, and the handle time the
console measured (``tickets time N --list``, the console's time key), read with plain ``sqlite3``."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from supportdesk.store.times import from_db, iso

#: The most entries one listing shows (a ticket with more is an outlier; the totals stay exact).
LIMIT = 500


@dataclass(frozen=True)
class TimeEntry:
    position: int
    id: str
    at: datetime
    agent_id: str
    agent: str
    seconds: int
    note: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "id": self.id,
            "at": iso(self.at),
            "agent_id": self.agent_id,
            "agent": self.agent,
            "seconds": self.seconds,
            "minutes": self.seconds // 60,
            "note": self.note,
        }


@dataclass(frozen=True)
class TicketTime:
    entries: list[TimeEntry]
    logged_s: int
    handle_s: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "entries": [e.as_dict() for e in self.entries],
            "logged_seconds": self.logged_s,
            "handle_seconds": self.handle_s,
            "total_seconds": self.logged_s + self.handle_s,
        }


def ticket_time(connection: sqlite3.Connection, ticket_id: str) -> TicketTime:
    """Logged entries (oldest first, numbered from 1) and both totals of one ticket."""
    rows = connection.execute(
        "SELECT e.id, e.at, e.agent_id, coalesce(a.name, e.agent_id), e.seconds, e.note FROM time_entry e "
        "LEFT JOIN agent a ON a.id = e.agent_id WHERE e.ticket_id = ? ORDER BY e.at, e.id LIMIT ?",
        (ticket_id, LIMIT),
    ).fetchall()
    entries = [
        TimeEntry(i, str(r[0]), from_db(r[1]) or datetime.min, str(r[2]), str(r[3]), int(r[4]), str(r[5] or ""))
        for i, r in enumerate(rows, start=1)
    ]
    logged, handle = totals(connection, ticket_id)
    return TicketTime(entries, logged, handle)


def totals(connection: sqlite3.Connection, ticket_id: str) -> tuple[int, int]:
    """Seconds logged by hand and seconds of measured handle time on one ticket (two index reads)."""
    logged = connection.execute("SELECT coalesce(sum(seconds), 0) FROM time_entry WHERE ticket_id = ?", (ticket_id,))
    handle = connection.execute("SELECT coalesce(sum(seconds), 0) FROM handle_time WHERE ticket_id = ?", (ticket_id,))
    return int(logged.fetchone()[0]), int(handle.fetchone()[0])


def find_entry(entries: list[TimeEntry], ref: str) -> TimeEntry | None:
    """An entry by its position in the listing (``2``) or its id."""
    ref = ref.strip().lstrip("#")
    for entry in entries:
        if (ref.isdigit() and int(ref) == entry.position) or entry.id == ref:
            return entry
    return None
