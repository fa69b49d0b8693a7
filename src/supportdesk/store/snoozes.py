"""Snoozes whose time came: what the console's watch reads (see ``domain.mutations.snooze``).

Both reads walk ``ix_ticket_snoozed_until`` over the few snoozed rows; a snooze is cleared when it
is woken, so the rows behind ``now`` stay few.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime

from supportdesk.store.times import from_db, to_db

#: At most this many ended snoozes per look (the rest come at the next one).
BATCH = 50


@dataclass(frozen=True)
class EndedSnooze:
    ticket_id: str
    number: int | None
    until: datetime
    #: Snoozed by this agent: their console wakes it (back on top, with a notification).
    mine: bool


def ended(
    connection: sqlite3.Connection, *, since: datetime | None, now: datetime, me: str | None
) -> list[EndedSnooze]:
    """The snoozes that ended in (``since``, ``now``], and this agent's that ended any time before
    (their console was closed then) and were not woken yet."""
    rows: dict[str, EndedSnooze] = {}
    if me is not None:
        for ticket_id, number, until in connection.execute(
            "SELECT id, number, snoozed_until FROM ticket WHERE snoozed_until <= ? AND snoozed_by_id = ? "
            "ORDER BY snoozed_until LIMIT ?",
            (to_db(now), me, BATCH),
        ):
            rows[ticket_id] = EndedSnooze(ticket_id, number, from_db(until) or now, mine=True)
    if since is not None:
        for ticket_id, number, until, by in connection.execute(
            "SELECT id, number, snoozed_until, snoozed_by_id FROM ticket "
            "WHERE snoozed_until > ? AND snoozed_until <= ? ORDER BY snoozed_until LIMIT ?",
            (to_db(since), to_db(now), BATCH),
        ):
            rows.setdefault(ticket_id, EndedSnooze(ticket_id, number, from_db(until) or now, mine=by == me))
    return list(rows.values())
