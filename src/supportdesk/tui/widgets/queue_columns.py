"""The queue's columns and how they share the terminal's width.

Every cell is cut or padded to its column's width and followed by one space, the header
included, so a column starts at the same x on every line whatever the row holds.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    key: str  # also the sort key, except for the marker column
    title: str
    width: int
    align: str = "left"


#: ``▶`` for a tagged row, ``●`` for one updated since it was last opened: a column of its own.
MARK = Column("mark", "", 2)
COLUMNS: tuple[Column, ...] = (
    MARK,
    Column("number", "#", 7, "right"),
    Column("subject", "Subject", 0),
    Column("requester", "Requester", 16),
    Column("sla", "SLA", 8, "right"),
    Column("status", "Status", 7),
    Column("priority", "Priority", 8),
    Column("assignee", "Assignee", 14),
    Column("group", "Group", 10),
    Column("channel", "Channel", 7),
    Column("updated", "Updated", 8, "right"),
)
#: Which columns give way first when the terminal is narrow (the SLA and the status stay).
DROP_ORDER = ("channel", "group", "assignee", "priority", "requester", "updated")
MIN_SUBJECT = 28


def layout(width: int) -> list[Column]:
    """Columns with their widths for ``width`` cells; the subject takes what is left."""
    chosen = list(COLUMNS)

    def fixed() -> int:
        return sum(c.width + 1 for c in chosen if c.key != "subject")

    for key in DROP_ORDER:
        if width - fixed() >= MIN_SUBJECT:
            break
        chosen = [c for c in chosen if c.key != key]
    subject = max(width - fixed() - 1, 8)
    return [Column(c.key, c.title, subject, c.align) if c.key == "subject" else c for c in chosen]


def column_starts(columns: list[Column]) -> dict[str, int]:
    """The x of each column's first cell (a cell is its width plus one space)."""
    starts, x = {}, 0
    for column in columns:
        starts[column.key] = x
        x += column.width + 1
    return starts
