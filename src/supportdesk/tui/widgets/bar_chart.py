"""A bar chart drawn with the Line API: one bar per period, zero at the bottom.

Bars rise from zero (not from the smallest value, as a sparkline's do), so a day with half the
tickets draws half as high. Heights are in eighths of a cell; a period with no value (no ticket
to measure) is a dim dot, distinct from zero. The left gutter gives the scale, the last line
the first and last periods.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual.widget import Widget

BLOCKS = " ▁▂▃▄▅▆▇█"

Point = tuple[str, float | None]


def number(value: float) -> str:
    """``1,234``, ``12.5``, ``0``: the chart's scale labels."""
    return f"{value:,.0f}" if value >= 100 or float(value).is_integer() else f"{value:,.1f}"


class BarChart(Widget):
    DEFAULT_CSS = """
    BarChart { height: 8; }
    BarChart > .bar-chart--bar { color: $primary; }
    BarChart > .bar-chart--latest { color: $accent; }
    BarChart > .bar-chart--axis { color: $text-muted; }
    BarChart > .bar-chart--empty { color: $text-disabled; }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "bar-chart--bar",
        "bar-chart--latest",
        "bar-chart--axis",
        "bar-chart--empty",
    }

    def __init__(self, *, ceiling: float | None = None, label: Callable[[str], str] = str, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.points: list[Point] = []
        self.ceiling = ceiling
        self.label = label

    def set_points(self, points: Sequence[Point]) -> None:
        self.points = list(points)
        self.refresh()

    @property
    def top(self) -> float:
        """The value a full-height bar stands for."""
        values = [v for _, v in self.points if v is not None]
        if self.ceiling is not None:
            return self.ceiling
        return max(values, default=0.0) or 1.0

    def _shape(self, width: int) -> tuple[int, int, int, list[Point]]:
        """Gutter width, bar width, slot width and the points that fit (the latest ones)."""
        gutter = max(len(number(self.top)), 1) + 1
        room = max(width - gutter, 1)
        points = self.points[-room:]
        slot = max(room // max(len(points), 1), 1)
        bar = slot - 1 if slot >= 2 else 1
        return gutter, bar, slot, points

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self.rich_style
        rows = self.size.height - 1
        if not self.points or rows < 1:
            return Strip.blank(width, base)
        gutter, bar, slot, points = self._shape(width)
        axis = base + self.get_component_rich_style("bar-chart--axis", partial=True)
        if y == rows:
            return self._axis(points, gutter, slot, width, axis, base)
        scale = number(self.top) if y == 0 else ("0" if y == rows - 1 else "")
        segments = [Segment(scale.rjust(gutter - 1) + " ", axis)]
        level = rows - 1 - y  # cells below this line
        for index, (_, value) in enumerate(points):
            latest = index == len(points) - 1
            segments.append(self._cell(value, level, rows, bar, latest, base))
            if slot > bar:
                segments.append(Segment(" " * (slot - bar), base))
        return Strip(segments).adjust_cell_length(width, base)

    def _cell(self, value: float | None, level: int, rows: int, bar: int, latest: bool, base: Style) -> Segment:
        if value is None:
            empty = base + self.get_component_rich_style("bar-chart--empty", partial=True)
            return Segment(("·" if level == 0 else " ").ljust(bar), empty)
        eighths = max(math.ceil(min(value / self.top, 1.0) * rows * 8), 1) if value > 0 else 0
        filled = min(max(eighths - level * 8, 0), 8)
        name = "bar-chart--latest" if latest else "bar-chart--bar"
        return Segment(BLOCKS[filled] * bar, base + self.get_component_rich_style(name, partial=True))

    def _axis(self, points: list[Point], gutter: int, slot: int, width: int, axis: Style, base: Style) -> Strip:
        first = self.label(points[0][0])
        last = self.label(points[-1][0])
        line = " " * gutter + first
        end = min(gutter + len(points) * slot, width)  # the right edge of the last bar's slot
        if len(points) > 1 and end - len(last) > len(line) + 1:
            line = line.ljust(end - len(last)) + last
        return Strip([Segment(line, axis)]).adjust_cell_length(width, base)
