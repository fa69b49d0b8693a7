"""The customer beside the ticket: every address on every channel, the organization, and
their other tickets across channels — enter opens one, ``M`` merges the customer with another
record of the same person."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Static

from supportdesk.store.reads import CustomerDetail
from supportdesk.tui.actions import bindings
from supportdesk.tui.text import safe_line
from supportdesk.tui.widgets.row_list import RowList

KIND_LABELS = {"email": "email", "phone": "phone", "chat": "chat", "social": "social"}


class CustomerTickets(RowList):
    BINDINGS = bindings("customer")

    def action_open_other(self) -> None:
        self.action_select()

    def action_merge_customer(self) -> None:
        self.post_message(CustomerPanel.MergeRequested())


class CustomerPanel(Vertical):
    DEFAULT_CSS = """
    CustomerPanel { height: 1fr; }
    CustomerPanel > #customer-card { height: auto; padding: 0 1; text-wrap: nowrap; text-overflow: ellipsis; }
    CustomerPanel > #customer-tickets-title { padding: 1 1 0 1; color: $text-muted; text-style: bold; }
    CustomerPanel > CustomerTickets { height: 1fr; }
    """

    class MergeRequested(Message):
        """The agent wants to merge the customer shown with another one."""

    class OpenTicket(Message):
        def __init__(self, ticket_id: str) -> None:
            super().__init__()
            self.ticket_id = ticket_id

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.ticket_ids: list[str] = []
        self.customer: CustomerDetail | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="customer-card")
        yield Static("Their tickets, every channel", id="customer-tickets-title")
        yield CustomerTickets(empty="no other tickets", id="customer-tickets")

    def show(self, customer: CustomerDetail | None, current_ticket: str) -> None:
        card = self.query_one("#customer-card", Static)
        self.customer = customer
        if customer is None:
            card.update(Content("unknown customer"))
            self.query_one(CustomerTickets).set_rows([])
            return
        c = customer.customer
        lines = [Content.styled(safe_line(c.get("name") or "(no name)", cap=80), "bold")]
        if customer.organization:
            lines.append(Content.styled("org ", "dim") + Content(safe_line(customer.organization, cap=80)))
        for identity in customer.identities:
            kind = KIND_LABELS.get(identity["kind"], identity["kind"])
            # the star first: a long address is cut at the panel's edge (never wrapped), not the star
            star = "★ " if identity["is_primary"] else "  "
            lines.append(Content.styled(f"{kind:<7}", "dim") + Content(star + safe_line(identity["value"], cap=120)))
        if c.get("notes"):
            lines.append(Content.styled("notes ", "dim") + Content(safe_line(c["notes"], cap=200)))
        card.update(Content("\n").join(lines))
        rows: list[Content] = []
        self.ticket_ids = []
        for ticket in customer.tickets:
            self.ticket_ids.append(ticket["id"])
            here = "▸" if ticket["id"] == current_ticket else " "
            number = f"#{ticket['number']}" if ticket["number"] is not None else "#—"
            status = str(ticket["status"]).replace("_", " ")
            label = Content(f"{here}{number:>8} ") + Content.styled(
                f"{status:<8}", "bold" if status in ("new", "open") else "dim"
            )
            label += Content(f" {ticket['channel']:<6} ") + Content(safe_line(ticket["subject"], cap=200))
            rows.append(label)
        self.query_one(CustomerTickets).set_rows(rows)

    @on(RowList.Selected)
    def _selected(self, event: RowList.Selected) -> None:
        event.stop()
        if 0 <= event.index < len(self.ticket_ids):
            self.post_message(self.OpenTicket(self.ticket_ids[event.index]))
