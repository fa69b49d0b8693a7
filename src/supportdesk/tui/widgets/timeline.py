"""A ticket's timeline: every message in order, drawn line by line.

Each message is a block — a heading (channel, direction, author, time, public reply or
internal note), what its channel says about it (:mod:`supportdesk.tui.channel_notes`: threading
and sender warnings of a mail, a post's network and handle, a call's details) and its body.
Long bodies are folded after a few lines with "show more"; quoted email history (found by
:mod:`supportdesk.channels.quoted`: "On … wrote:" in nine languages, Outlook's headers, ``> …``
lines) is collapsed. A folded body is wrapped only up to a few thousand characters and
only visible lines are drawn, so a ticket with hundreds of messages or a multi-megabyte paste
opens at once.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.content import Content
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from supportdesk.channels.quoted import split_quoted
from supportdesk.store.reads import TimelineEntry
from supportdesk.store.times import relative
from supportdesk.tui.actions import bindings
from supportdesk.tui.channel_notes import arrow, kind_label, notes
from supportdesk.tui.text import safe, safe_line
from supportdesk.tui.widgets.timeline_files import FileActions, file_lines

FOLD_LINES = 12
FOLD_CHARS = 4_000
EXPANDED_CHARS = 400_000
#: Lines laid out exactly when a ticket opens (from its latest message up); the blocks above
#: are measured after the first frame, their heights estimated until then.
FIRST_LINES = 150


@dataclass
class Block:
    entry: TimelineEntry
    expanded: bool = False
    show_quoted: bool = False
    lines: list[tuple[str, str]] = field(default_factory=list)  # (text, component)
    width: int = -1
    _parts: tuple[str, str] | None = None

    @property
    def text(self) -> str:
        return self.parts[0]

    @property
    def quoted(self) -> str:
        return self.parts[1]

    @property
    def parts(self) -> tuple[str, str]:
        """The new text and the quoted history, split when first needed."""
        if self._parts is None:
            body = self.entry.body
            self._parts = split_quoted(body) if self.entry.channel == "email" else (body, "")
        return self._parts

    def estimate(self) -> int:
        """Lines this block will take, roughly, without wrapping anything."""
        if self.lines:
            return len(self.lines)
        return 3 + min(self.entry.body.count("\n", 0, FOLD_CHARS) + 1, FOLD_LINES + 1) + len(self.entry.attachments)


def _wrap(text: str, width: int, limit: int | None = None) -> list[str]:
    """Word-wrap ``text`` to ``width`` cells; stop after ``limit`` lines (a folded body)."""
    out: list[str] = []
    for paragraph in text.split("\n"):
        if limit is not None and len(out) > limit:
            break
        if len(paragraph) <= width and paragraph.isascii():
            out.append(paragraph.rstrip())  # most lines fit: no need to measure cells
        else:
            out.extend(line.plain.rstrip() for line in Content(paragraph).wrap(width))
    return out


class Timeline(FileActions, ScrollView, can_focus=True):
    BINDINGS = bindings("timeline")
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "timeline--heading",
        "timeline--note-heading",
        "timeline--customer-heading",
        "timeline--body",
        "timeline--note",
        "timeline--bar",
        "timeline--note-bar",
        "timeline--customer-bar",
        "timeline--fold",
        "timeline--meta",
        "timeline--warn",
        "timeline--selected",
    }

    selected = reactive(-1, always_update=True)

    class Changed(Message):
        """The blocks were re-laid out (folding changed)."""

    def __init__(self, clock: Callable[[], datetime], **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.clock = clock
        self.blocks: list[Block] = []
        self._starts: list[int] = []
        self._height = 0
        self._layout_width = -1

    def set_entries(self, entries: list[TimelineEntry], *, keep_position: bool = False) -> None:
        """Show ``entries``; with ``keep_position`` (a re-read of the same ticket) unchanged
        messages keep their folding and their laid-out lines."""
        old = {b.entry.id: b for b in self.blocks} if keep_position else {}
        self.blocks = []
        for entry in entries:
            previous = old.get(entry.id)
            if previous is not None and previous.entry.body == entry.body:
                previous.entry = entry
                previous.width = -1  # its channel notes may have changed
                self.blocks.append(previous)
                continue
            self.blocks.append(Block(entry))
        if keep_position:
            self._layout()
            return
        self._layout(exact=FIRST_LINES)
        self.selected = len(self.blocks) - 1
        # after the first frame: measure the blocks above, then show the latest message (a pane
        # just pushed has no size yet to scroll within)
        self.call_after_refresh(self._finish_layout)

    def _finish_layout(self) -> None:
        if any(not block.lines for block in self.blocks):
            latest = self.selected == len(self.blocks) - 1
            self._layout()
            if not latest and 0 <= self.selected < len(self._starts):
                self.scroll_to(y=self._starts[self.selected], animate=False)
                return
        self._show_latest()

    def _show_latest(self) -> None:
        if self.blocks:
            self.selected = len(self.blocks) - 1
            self.scroll_to(y=self._starts[-1], animate=False)

    # --- layout ---------------------------------------------------------------------------

    def _width(self) -> int:
        return max(self.scrollable_content_region.width - 3, 20)

    def _block_lines(self, block: Block, width: int) -> list[tuple[str, str]]:
        if block.width == width and block.lines:
            return block.lines
        entry = block.entry
        note = not entry.public
        who = safe_line(entry.author, cap=80)
        when = entry.created_at.astimezone().strftime("%Y-%m-%d %H:%M")
        age = relative(entry.created_at, self.clock())
        heading = f"{arrow(entry)} {entry.channel} · {kind_label(entry)} · {who} · {when} ({age})"
        component = "note-heading" if note else ("customer-heading" if entry.author_kind == "customer" else "heading")
        lines: list[tuple[str, str]] = [(heading, component), *notes(entry)]
        body_component = "note" if note else "body"
        limit = EXPANDED_CHARS if block.expanded else FOLD_CHARS
        text = block.text
        cut = len(text) > limit
        wrapped = _wrap(safe(text[:limit]), width, None if block.expanded else FOLD_LINES)
        if not block.expanded and len(wrapped) > FOLD_LINES:
            hidden = len(wrapped) - FOLD_LINES
            lines += [(line, body_component) for line in wrapped[:FOLD_LINES]]
            more = "many" if cut else f"{hidden}"
            lines.append((f"⋯ show more ({more} more lines) — enter", "fold"))
        else:
            lines += [(line, body_component) for line in wrapped]
            if cut:
                lines.append((f"⋯ {len(text) - limit:,} more characters not shown", "fold"))
            elif block.expanded and len(wrapped) > FOLD_LINES:
                lines.append(("⋯ show less — enter", "fold"))
        lines += file_lines(entry.attachments)
        if block.quoted:
            if block.show_quoted:
                lines += [(line, "fold") for line in _wrap(safe(block.quoted[:FOLD_CHARS]), width)]
                lines.append(("⋯ hide quoted history — z", "fold"))
            else:
                count = block.quoted.count("\n") + 1
                lines.append((f"⋯ quoted history ({count} lines) — z", "fold"))
        lines.append(("", "gap"))
        block.lines, block.width = lines, width
        return lines

    def _layout(self, exact: int | None = None) -> None:
        """Lay every block out; with ``exact``, only that many lines from the end, and estimate
        the heights of the blocks above (a ticket of hundreds of messages opens at once)."""
        width = self._width()
        self._layout_width = width
        heights = [0] * len(self.blocks)
        budget = exact if exact is not None else -1
        for index in range(len(self.blocks) - 1, -1, -1):
            block = self.blocks[index]
            if budget != 0 or (block.width == width and block.lines):
                heights[index] = len(self._block_lines(block, width))
                budget = max(budget - heights[index], 0) if budget > 0 else budget
            else:
                block.lines, block.width = [], -1
                heights[index] = block.estimate()
        self._starts = []
        y = 0
        for height in heights:
            self._starts.append(y)
            y += height
        self._height = y
        self.virtual_size = Size(self.scrollable_content_region.width, y)
        self.refresh()

    def on_resize(self, event: events.Resize) -> None:
        self._layout()
        if self.blocks and self.selected == len(self.blocks) - 1:
            # the latest message stays in view as the pane shrinks (the composer opening): the
            # offset scrolled to while it was taller may be clamped there, or fall in a gap
            self.call_after_refresh(self._show_latest)

    # --- drawing --------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.rich_style
        if self._width() != self._layout_width:
            self._layout()  # a scrollbar came or went: the text wraps differently
        line_no = round(self.scroll_y) + y
        if line_no >= self._height or not self.blocks:
            return Strip.blank(width, base)
        index = bisect.bisect_right(self._starts, line_no) - 1
        block = self.blocks[index]
        lines = self._block_lines(block, self._layout_width)
        offset = line_no - self._starts[index]
        if offset >= len(lines):
            return Strip.blank(width, base)
        text, component = lines[offset]
        if component == "gap":
            return Strip.blank(width, base)
        entry = block.entry
        bar_component = (
            "note-bar" if not entry.public else ("customer-bar" if entry.author_kind == "customer" else "bar")
        )
        bar_style = base + self.get_component_rich_style(f"timeline--{bar_component}")
        style: Style = base + self.get_component_rich_style(f"timeline--{component}")
        if index == self.selected and self.has_focus:
            bar_style += self.get_component_rich_style("timeline--selected")
        return Strip([Segment("▌ ", bar_style), Segment(text, style)]).adjust_cell_length(width, base)

    def watch_selected(self, old: int, new: int) -> None:
        if 0 <= new < len(self.blocks):
            start = self._starts[new]
            end = start + len(self.blocks[new].lines)
            top = round(self.scroll_y)
            height = self.scrollable_content_region.height
            if start < top or end > top + height:
                self.scroll_to(y=start, animate=False)
        self.refresh()

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    # --- actions --------------------------------------------------------------------------

    def action_next_message(self) -> None:
        if self.blocks:
            self.selected = min(self.selected + 1, len(self.blocks) - 1)

    def action_previous_message(self) -> None:
        if self.blocks:
            self.selected = max(self.selected - 1, 0)

    def action_first(self) -> None:
        if self.blocks:
            self.selected = 0

    def action_last(self) -> None:
        if self.blocks:
            self.selected = len(self.blocks) - 1

    def _relayout(self, block: Block) -> None:
        block.width = -1
        self._layout()
        self.post_message(self.Changed())

    def action_toggle_fold(self) -> None:
        if 0 <= self.selected < len(self.blocks):
            block = self.blocks[self.selected]
            block.expanded = not block.expanded
            self._relayout(block)

    def action_toggle_quoted(self) -> None:
        if 0 <= self.selected < len(self.blocks):
            block = self.blocks[self.selected]
            if block.quoted:
                block.show_quoted = not block.show_quoted
                self._relayout(block)

    def on_click(self, event: events.Click) -> None:
        line_no = round(self.scroll_y) + event.y
        if not self.blocks or line_no >= self._height:
            return
        index = bisect.bisect_right(self._starts, line_no) - 1
        self.selected = index
        lines = self._block_lines(self.blocks[index], self._layout_width)
        offset = line_no - self._starts[index]
        if offset >= len(lines):
            return
        text, component = lines[offset]
        if component == "fold":
            if "quoted" in text:
                self.action_toggle_quoted()
            else:
                self.action_toggle_fold()
