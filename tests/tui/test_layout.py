"""Layout read back from the composed screen: every queue cell sits under its column title, on
rows with and without markers, and the ticket header never cuts a field in two."""

from __future__ import annotations

import pytest
from rich.cells import cell_len
from textual.pilot import Pilot

from supportdesk.store.reads import QueueRow
from supportdesk.tui.screens.queue import QueueScreen
from supportdesk.tui.screens.ticket import TicketScreen
from supportdesk.tui.text import safe_line
from supportdesk.tui.widgets.queue_view import QueueHeader, QueueView
from tests.tui.conftest import AppFactory, settle, until


def screen_lines(pilot: Pilot[None]) -> list[list[str]]:
    """The whole screen as the terminal gets it, one list of cells per line (a wide character
    fills two cells, the second empty)."""
    lines = []
    for strip in pilot.app.screen._compositor.render_strips():
        cells: list[str] = []
        for char in strip.text:
            cells.append(char)
            cells.extend([""] * (cell_len(char) - 1))
        lines.append(cells)
    return lines


def find(cells: list[str], text: str, start: int = 0) -> int:
    """The cell where ``text`` starts in a line (-1 when it is not there)."""
    line = "".join(c or "\0" for c in cells)
    return line.find(text, start)


def cell_values(row: QueueRow) -> dict[str, str]:
    """What each column shows for a row (left-aligned ones are checked by their start)."""
    return {
        "number": str(row.number),
        "subject": safe_line(row.subject, cap=300),
        "requester": safe_line(row.requester, cap=80),
        "status": row.status.replace("_", " "),
        "priority": row.priority,
        "assignee": safe_line(row.assignee, cap=80) if row.assignee else "—",
        "group": safe_line(row.group, cap=80) if row.group else "—",
        "channel": row.channel,
    }


@pytest.mark.parametrize("width", [80, 150])
async def test_every_cell_starts_under_its_column_title(make_app: AppFactory, width: int) -> None:
    app = make_app()
    async with app.run_test(size=(width, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, QueueScreen)
        screen.show_view(next(v for v in screen.views if v.name == "All open"))
        await settle(pilot)
        await pilot.press("j", "space", "space")  # two tagged rows
        await settle(pilot)
        queue, header = screen.query_one(QueueView), screen.query_one(QueueHeader)
        lines = screen_lines(pilot)
        titles = lines[header.region.y]
        columns = queue.columns
        assert len(columns) >= (10 if width == 150 else 5)

        title_at: dict[str, tuple[int, int]] = {}  # column → (first cell, cell after the title)
        for column in columns:
            if column.key == "mark":
                continue
            x = find(titles, column.title, header.region.x)
            assert x >= 0, column.title
            end = x + len(column.title)
            title_at[column.key] = (x, end + (titles[end] in "↑↓"))  # the sorted column's arrow

        kinds = {"tagged": 0, "unread": 0, "read": 0}
        checked = 0
        for y in range(min(queue.region.height, queue.model.height)):  # type: ignore[union-attr]
            row = queue.model.row(y)  # type: ignore[union-attr]
            assert row is not None
            cells = lines[queue.region.y + y]
            tagged, unread = row.id in queue.tagged, not row.seen
            kinds["tagged" if tagged else "unread" if unread else "read"] += 1
            values = cell_values(row)
            for column in columns:
                if column.key not in title_at:
                    continue
                start, end = title_at[column.key]
                if column.align == "right":
                    if column.key == "number":
                        shown = values["number"]
                        assert find(cells, shown, end - len(shown)) == end - len(shown), (row.number, column.key)
                    else:  # the SLA and the age: some text ending exactly where the title ends
                        assert cells[end - 1].strip() and not cells[end].strip(), (row.number, column.key)
                else:
                    expected = values.get(column.key, "")[: column.width].rstrip()
                    if not expected:
                        continue
                    assert "".join(cells[start : start + len(expected)]) == expected, (row.number, column.key)
                    assert not cells[start - 1].strip(), (row.number, column.key)
                checked += 1
            mark = "".join(cells[queue.region.x : queue.region.x + 2])
            assert mark == ("▶" if tagged else " ") + ("●" if unread else " ")
        assert all(kinds.values()), kinds  # rows with each marker, and with none, were checked
        assert checked > 50


@pytest.mark.parametrize("width", [80, 150])
async def test_the_ticket_header_never_cuts_a_field(make_app: AppFactory, width: int) -> None:
    app = make_app()
    async with app.run_test(size=(width, 40)) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, TicketScreen) and app.screen.data is not None)
        await settle(pilot)
        header = app.screen.query_one("#ticket-header")
        lines = screen_lines(pilot)[header.region.y : header.region.bottom]
        text = ["".join(cells[header.region.x : header.region.right]).strip() for cells in lines]
        fields = [part.strip() for line in text[1:] for part in line.split(" · ")]
        names = ("status", "priority", "type", "group", "assignee", "tags", "requester", "via", "created", "updated")
        for name in names:
            found = [f for f in fields if f.startswith(f"{name} ")]
            assert len(found) == 1, (name, text)
            assert len(found[0]) > len(name) + 1, (name, text)
        status = next(f for f in fields if f.startswith("status "))
        assert status.endswith("[S]")  # the field and its key stay on one line
        assert any(f.endswith(" messages") for f in fields)
        if width == 150:
            assert len(text) == 3  # number and subject, the fields, the requester and times
        else:
            assert len(text) > 3
