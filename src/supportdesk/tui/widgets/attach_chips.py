"""The files attached to a draft, shown as chips above the composer's text.

A chip says the file's cleaned name and size (never markup: the name comes from a file
system); ``✕`` on a chip, or ``ctrl+r`` in the composer (the last chip, or a pick among
several), takes it off before sending. The chips are the draft's: they are saved with it,
survive a restart and stay when a send is refused.
"""

from __future__ import annotations

from typing import Any

from textual import events
from textual.containers import VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import Static

from supportdesk.tui.text import safe_line


def size_label(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / 1024 / 1024:.1f} MB"


def chip_content(item: dict[str, Any]) -> Content:
    name = safe_line(str(item.get("filename") or "(no name)"), cap=40)
    return Content(f"📎 {name} ({size_label(int(item.get('size') or 0))}) ") + Content.styled("✕", "bold")


class Chip(Static):
    DEFAULT_CSS = """
    Chip { width: auto; max-width: 100%; height: 1; padding: 0 1; background: $boost; }
    Chip:hover { background: $primary 30%; }
    """

    def __init__(self, index: int, item: dict[str, Any]) -> None:
        super().__init__(chip_content(item), markup=False, classes="attach-chip")
        self.index = index

    def on_click(self, event: events.Click) -> None:
        event.stop()
        self.post_message(AttachChips.Remove(self.index))


class AttachChips(VerticalScroll, can_focus=False):
    """The chips, one a line (a long name never pushes another off the screen at 80 columns);
    at most four lines tall, scrolling past that; hidden while the draft has no files."""

    DEFAULT_CSS = """
    AttachChips { height: auto; max-height: 4; display: none; padding: 0 1; }
    AttachChips.-shown { display: block; }
    """

    class Remove(Message):
        def __init__(self, index: int) -> None:
            super().__init__()
            self.index = index

    def show(self, items: list[dict[str, Any]]) -> None:
        self.remove_children()
        self.mount_all([Chip(index, item) for index, item in enumerate(items)])
        self.set_class(bool(items), "-shown")
