"""The queue's columns and how they share the terminal's width.

The columns of ticket fields come from the ticket field table (``queue`` of a row of
:mod:`supportdesk.store.ticket_fields`: title, width, place, when it gives way); the marker and
the SLA countdown, which are not fields of the ticket, are added here.

Every cell is cut or padded to its column's width and followed by one space, the header
included, so a column starts at the same x on every line whatever the row holds.
"""

from __future__ import annotations

from dataclasses import dataclass

from supportdesk.store import ticket_fields
from supportdesk.store.query.parser import SORT_KEYS


@dataclass(frozen=True)
class Column:
    key: str  # the field's name (also its sort key, when it has one)
    title: str
    width: int
    align: str = "left"
    position: int = 0
    drops: int | None = None

    @property
    def sortable(self) -> bool:
        return self.key in SORT_KEYS


#: ``▶`` for a tagged row, ``●`` for one updated since it was last opened: a column of its own.
MARK = Column("mark", "", 2)
#: The SLA countdown (from ``ticket_timing``, not a column of the ticket), after the requester.
SLA = Column("sla", "SLA", 8, "right", position=45)
COLUMNS: tuple[Column, ...] = (
    MARK,
    *sorted(
        (
            SLA,
            *(
                Column(f.name, q.title, q.width, q.align, q.position, q.drops)
                for f in ticket_fields.FIELDS
                if (q := f.queue) is not None
            ),
        ),
        key=lambda c: c.position,
    ),
)
#: The triage fields (``language``, ``sentiment``, ``intent`` of the field table), shown when the
#: agent asks for them (``I`` in the queue): after the channel, before "Updated"; on a narrow
#: terminal they give way after the channel and the group, before the assignee.
TRIAGE: tuple[Column, ...] = (
    Column("language", "Lang", 4, position=92, drops=25),
    Column("sentiment", "Sentiment", 9, position=94, drops=26),
    Column("intent", "Intent", 14, position=96, drops=27),
)


def _drop_order(columns: tuple[Column, ...]) -> tuple[str, ...]:
    return tuple(c.key for c in sorted((c for c in columns if c.drops is not None), key=lambda c: c.drops or 0))


#: Which columns give way first when the terminal is narrow (the SLA and the status stay).
DROP_ORDER = _drop_order(COLUMNS)
MIN_SUBJECT = 28


def layout(width: int, *, triage: bool = False) -> list[Column]:
    """Columns with their widths for ``width`` cells; the subject takes what is left."""
    every = tuple(sorted((*COLUMNS, *TRIAGE), key=lambda c: c.position)) if triage else COLUMNS
    chosen = list(every)

    def fixed() -> int:
        return sum(c.width + 1 for c in chosen if c.key != "subject")

    for key in _drop_order(every) if triage else DROP_ORDER:
        if width - fixed() >= MIN_SUBJECT:
            break
        chosen = [c for c in chosen if c.key != key]
    subject = max(width - fixed() - 1, 8)
    return [Column(c.key, c.title, subject, c.align, c.position) if c.key == "subject" else c for c in chosen]


def column_starts(columns: list[Column]) -> dict[str, int]:
    """The x of each column's first cell (a cell is its width plus one space)."""
    starts, x = {}, 0
    for column in columns:
        starts[column.key] = x
        x += column.width + 1
    return starts
