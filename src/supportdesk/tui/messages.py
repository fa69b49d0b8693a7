"""Typed messages that thread workers post back to the console (never touching widgets)."""

from __future__ import annotations

from typing import Any

from textual.message import Message

from supportdesk.store.reads import QueueRow
from supportdesk.store.sla import ClockView, RowSLA
from supportdesk.tui.db import TicketData


class PageLoaded(Message):
    def __init__(
        self,
        generation: int,
        page: int,
        rows: list[QueueRow],
        more: bool,
        forward: bool,
        sla: dict[str, RowSLA] | None = None,
    ) -> None:
        super().__init__()
        self.generation = generation
        self.page = page
        self.rows = rows
        self.more = more
        self.forward = forward
        self.sla = sla


class CountLoaded(Message):
    def __init__(self, generation: int, total: int) -> None:
        super().__init__()
        self.generation = generation
        self.total = total


class AnchorsLoaded(Message):
    def __init__(self, generation: int, anchors: list[tuple[Any, ...]]) -> None:
        super().__init__()
        self.generation = generation
        self.anchors = anchors


class QueueFailed(Message):
    """A page or count query failed (a bad FTS term, an interrupted ranking)."""

    def __init__(self, generation: int, error: str) -> None:
        super().__init__()
        self.generation = generation
        self.error = error


class ViewCounted(Message):
    def __init__(self, view_id: str, count: int) -> None:
        super().__init__()
        self.view_id = view_id
        self.count = count


class TicketLoaded(Message):
    """A ticket read for its pane: its data, None when it is gone (or out of the agent's view), or
    ``failure`` when the store could not answer (which says nothing about the ticket)."""

    def __init__(self, ticket_id: str, data: TicketData | None, failure: str | None = None) -> None:
        super().__init__()
        self.ticket_id = ticket_id
        self.data = data
        self.failure = failure


class ClocksLoaded(Message):
    """A ticket's SLA clocks read again (the pane's clock lines move with working time)."""

    def __init__(self, ticket_id: str, clocks: list[ClockView]) -> None:
        super().__init__()
        self.ticket_id = ticket_id
        self.clocks = clocks


class StoreChanged(Message):
    """Another connection committed to the workspace (a CLI command, the sync, our own write)."""
