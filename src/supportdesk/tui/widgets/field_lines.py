"""Labelled fields laid out in lines that fit the width, never cutting a field in two.

The ticket header ("status open [S] · priority normal [p] · …") and the dashboard's headline
are made of these: a line takes fields separated by `` · `` until the next one would not fit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.content import Content
from textual.geometry import Size
from textual.widget import Widget

#: Between two fields on one line.
SEPARATOR = Content.styled(" · ", "dim")


def field(name: str, value: str | Content, key: str | None = None) -> Content:
    """``name value [key]``: the name and the key dim, the value plain (and never markup)."""
    shown = value if isinstance(value, Content) else Content(value)
    piece = Content.styled(f"{name} ", "dim") + shown
    if key:
        piece += Content(" ") + Content.styled(f"[{key}]", "dim")
    return piece


@dataclass(frozen=True)
class FieldLines:
    """A title line, then groups of fields; each group starts a new line."""

    title: Content
    groups: tuple[tuple[Content, ...], ...] = ()

    def lines(self, width: int) -> list[Content]:
        lines = [self.title] if self.title else []
        for fields in self.groups:
            line: Content | None = None
            for piece in fields:
                if line is None:
                    line = piece
                elif line.cell_length + SEPARATOR.cell_length + piece.cell_length <= width:
                    line = line + SEPARATOR + piece
                else:
                    lines.append(line)
                    line = piece
            if line is not None:
                lines.append(line)
        return lines

    def render(self, width: int) -> Content:
        return Content("\n").join(self.lines(width))


class FieldLinesView(Widget):
    """Shows :class:`FieldLines`, laid out for the width it is given (and again on a resize)."""

    DEFAULT_CSS = "FieldLinesView { height: auto; }"

    def __init__(self, text: FieldLines | Content | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._text = _as_lines(text)

    def show(self, text: FieldLines | Content) -> None:
        self._text = _as_lines(text)
        self.refresh(layout=True)

    def render(self) -> Content:
        return self._text.render(self.content_region.width or 1000)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return self._text.render(width).get_height(self.styles, width)  # type: ignore[arg-type]  # as Widget does


def _as_lines(text: FieldLines | Content | None) -> FieldLines:
    if isinstance(text, FieldLines):
        return text
    return FieldLines(text if text is not None else Content(""))
