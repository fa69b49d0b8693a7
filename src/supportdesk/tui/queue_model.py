"""The queue's rows as pages: which are loaded, and how to fetch a missing one.

No Textual here: the widget asks :meth:`QueueModel.row` for what it draws and
:meth:`QueueModel.fetch_spec` for how to load a page it lacks. A page is fetched by keyset from
a neighbour page's edge or from an anchor (every :data:`PAGE`-th cursor, computed once per
query), never by OFFSET; loaded pages live in a small LRU so memory stays flat on a million rows.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from supportdesk.store.reads import QueuePlan, QueueRow
from supportdesk.store.sla import RowSLA

PAGE = 100
MAX_PAGES = 48

Cursor = tuple[Any, ...]


@dataclass(frozen=True)
class FetchSpec:
    """Arguments of one ``reads.queue_page`` call that yields page ``page``."""

    page: int
    after: Cursor | None
    limit: int = PAGE
    reverse: bool = False


class QueueModel:
    def __init__(self, plan: QueuePlan, generation: int) -> None:
        self.plan = plan
        self.generation = generation
        self.total: int | None = None
        self.anchors: list[Cursor] | None = None
        self.pages: OrderedDict[int, list[QueueRow]] = OrderedDict()
        #: Each loaded page's SLA rows (``store.sla.page_sla``), read with the page, evicted with it.
        self.sla: dict[int, dict[str, RowSLA]] = {}
        self.pending: set[int] = set()
        self._end_seen: int | None = None
        self._known = 0

    # --- size -----------------------------------------------------------------------------

    @property
    def height(self) -> int:
        """Rows to lay out: the count once known, else what is loaded plus one page if more."""
        if self.total is not None:
            return self.total
        if self._end_seen is not None:
            return self._end_seen
        return self._known

    @property
    def loading(self) -> bool:
        return self.total is None and self._end_seen is None

    def set_total(self, total: int) -> None:
        self.total = total
        for page in [p for p in self.pages if p * PAGE >= total]:
            del self.pages[page]
            self.sla.pop(page, None)

    # --- rows -----------------------------------------------------------------------------

    def row(self, index: int) -> QueueRow | None:
        page = self.pages.get(index // PAGE)
        if page is None:
            return None
        self.pages.move_to_end(index // PAGE)
        offset = index % PAGE
        return page[offset] if offset < len(page) else None

    def row_sla(self, index: int, ticket_id: str) -> RowSLA | None:
        page = self.sla.get(index // PAGE)
        return page.get(ticket_id) if page is not None else None

    def find(self, ticket_id: str) -> int | None:
        """The index of a loaded row, for keeping the cursor on a ticket across refreshes."""
        for page, rows in self.pages.items():
            for offset, row in enumerate(rows):
                if row.id == ticket_id:
                    return page * PAGE + offset
        return None

    def store(
        self,
        page: int,
        rows: list[QueueRow],
        more: bool,
        *,
        forward: bool = True,
        sla: dict[str, RowSLA] | None = None,
    ) -> None:
        self.pending.discard(page)
        self.pages[page] = rows
        self.sla[page] = sla or {}
        self.pages.move_to_end(page)
        while len(self.pages) > MAX_PAGES:
            evicted, _ = self.pages.popitem(last=False)
            self.sla.pop(evicted, None)
        end = page * PAGE + len(rows)
        if forward and not more:
            self._end_seen = end
        self._known = max(self._known, end + (PAGE if more else 0))

    def clear(self) -> None:
        """Forget loaded rows (the store changed); the size and anchors stay until recounted."""
        self.pages.clear()
        self.sla.clear()
        self.pending.clear()

    # --- fetching -------------------------------------------------------------------------

    def missing(self, first: int, last: int) -> list[int]:
        """Pages between rows ``first`` and ``last`` that are neither loaded nor on their way."""
        height = self.height
        if height == 0 and not self.loading:
            return []
        pages = range(max(first, 0) // PAGE, max(last, 0) // PAGE + 1)
        return [p for p in pages if p not in self.pages and p not in self.pending and (p == 0 or p * PAGE < height)]

    def fetch_spec(self, page: int) -> FetchSpec | None:
        """How to load ``page`` now, or None until a neighbour or the anchors arrive."""
        if page == 0:
            return FetchSpec(0, None)
        before = self.pages.get(page - 1)
        if before and len(before) == PAGE:
            return FetchSpec(page, before[-1].cursor)
        if self.anchors is not None and page + 1 < len(self.anchors):
            # anchors are the first rows of pages: page N is what precedes page N+1's anchor
            return FetchSpec(page, self.anchors[page + 1], reverse=True)
        following = self.pages.get(page + 1)
        if following:
            return FetchSpec(page, following[0].cursor, reverse=True)
        if self.total is not None and page == (self.total - 1) // PAGE:
            return FetchSpec(page, None, limit=self.total - page * PAGE, reverse=True)
        return None
