"""Merge two customers: find the other record by name or address, say which one stays.

A workspace holds hundreds of thousands of customers, so unlike :class:`PickerScreen` the list is
not held in memory and narrowed: each pause in typing runs one search in a thread worker (the
previous one is cancelled) and the hits replace the list.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Input, Label, Static

from supportdesk.store import reads
from supportdesk.tui.screens.forms import Choice, ListPicker, PickerScreen
from supportdesk.tui.text import safe_line
from supportdesk.tui.widgets.row_list import RowList

if TYPE_CHECKING:
    from supportdesk.store.reads import CustomerDetail
    from supportdesk.tui.console import Console
    from supportdesk.tui.db import ConsoleDB

SEARCH_DELAY = 0.15


class CustomersFound(Message):
    def __init__(self, text: str, hits: list[reads.CustomerHit]) -> None:
        super().__init__()
        self.text = text
        self.hits = hits


class CustomerPickerScreen(ListPicker[reads.CustomerHit]):
    """Type part of a name, an email address, a phone number or a handle; enter picks."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss_none", "Cancel", id="customer-picker.cancel"),
    ]

    def __init__(self, title: str, db: ConsoleDB, *, exclude: str | None = None) -> None:
        super().__init__(classes="form")
        self.title_text = title
        self.db = db
        self.exclude = exclude
        self.hits: list[reads.CustomerHit] = []
        self._timer: Timer | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="form-box"):
            yield Label(Content(self.title_text), classes="form-title")
            yield Input(placeholder="name, email, phone or handle", id="customer-input")
            yield RowList(empty="type to search", id="picker-list")
            yield Static(Content("enter choose · esc cancel"), classes="form-hint")

    @on(Input.Changed, "#customer-input")
    def _typed(self, event: Input.Changed) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(SEARCH_DELAY, lambda: self._search(event.value))

    @work(thread=True, group="customer-search", exclusive=True, exit_on_error=False)
    def _search(self, text: str) -> None:
        self.post_message(CustomersFound(text, self.db.search_customers(text, limit=30, exclude=self.exclude)))

    def on_customers_found(self, message: CustomersFound) -> None:
        if message.text != self.query_one("#customer-input", Input).value:
            return  # an older search answered late
        self.hits = message.hits
        rows = []
        for hit in message.hits:
            label = Content(safe_line(hit.name or "(no name)", cap=60))
            if hit.address:
                label += Content.styled(f"  {safe_line(hit.address, cap=80)}", "dim")
            label += Content.styled(f"  · {hit.tickets} ticket{'s' if hit.tickets != 1 else ''}", "dim")
            rows.append(label)
        picker = self.query_one(RowList)
        picker.empty = "nobody matches" if message.text.strip() else "type to search"
        picker.set_rows(rows, keep_cursor=False)

    def _choose(self, index: int) -> None:
        if 0 <= index < len(self.hits):
            self.dismiss(self.hits[index])


Record = tuple[str, "str | None", int, str]  # name (made safe), address, tickets, id


def record_labels(one: Record, two: Record) -> tuple[str, str]:
    """How the merge's two choices name the records: by name, and when both have one name (the
    usual case: two records of one person) by address and ticket count too, then by id — two
    identical choices would leave the agent guessing which record stays."""

    def label(record: Record, depth: int) -> str:
        name, address, tickets, record_id = record
        parts = [name]
        if depth >= 1:
            parts.append(f"<{safe_line(address, cap=60)}>" if address else "(no address)")
            parts.append(f"{tickets} ticket{'s' if tickets != 1 else ''}")
        if depth >= 2:
            parts.append(f"id {record_id[-8:]}")
        return " · ".join(parts) if depth else name

    for depth in range(3):
        first, second = label(one, depth), label(two, depth)
        if first != second:
            return first, second
    return first, second


def merge_customers(app: Console, customer: CustomerDetail) -> None:
    """``M`` in the customer panel: pick the other record of this person, say which one stays,
    then ``customer.merge`` (identities and tickets move to the one that stays)."""
    this_id = str(customer.customer["id"])
    this = safe_line(customer.customer.get("name") or "(no name)", cap=60)

    def merge(source_id: str, target_id: str, target: str) -> None:
        app.write(
            [("customer.merge", {"source_id": source_id, "target_id": target_id})],
            done=lambda outcomes: app.notify(
                f"merged into {target}: {outcomes[0].result.get('moved', {}).get('ticket', 0)} ticket(s) moved",
                markup=False,
            ),
        )

    this_address = next((str(i["value"]) for i in customer.identities if i["is_primary"]), None) or next(
        (str(i["value"]) for i in customer.identities), None
    )
    this_tickets = len(customer.tickets)

    def picked(other: reads.CustomerHit | None) -> None:
        if other is None:
            return
        name = safe_line(other.name or "(no name)", cap=60)
        mine, theirs = record_labels(
            (this, this_address, this_tickets, this_id), (name, other.address, other.tickets, other.id)
        )

        def chosen(keep: str | None) -> None:
            if keep == "this":
                merge(other.id, this_id, this)
            elif keep == "other":
                merge(this_id, other.id, name)

        choices = [
            Choice("this", f"Keep {mine}", f"{theirs} merges into it"),
            Choice("other", f"Keep {theirs}", f"{mine} merges into it"),
        ]
        app.push_screen(PickerScreen("Which record stays?", choices), chosen)

    app.push_screen(CustomerPickerScreen(f"Merge {this} with…", app.db, exclude=this_id), picked)
