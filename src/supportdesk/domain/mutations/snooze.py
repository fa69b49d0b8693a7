"""Snooze: a ticket out of the agent's worklists until a time, back on top when it comes.

A snoozed ticket keeps its status; what changes is ``snoozed_until`` (and who snoozed it). The
query language leaves it out of every query that keeps to unsolved statuses — the worklists an
agent works from — until then, and ``is:snoozed`` finds it (``store.query``). It wakes three
ways: ``ticket.unsnooze`` by hand; the snoozer's console when the time comes (``woke``: only if
the snooze it saw is still the one on the ticket and its time has come, so two consoles or a
replay never wake it twice); and a message from the customer, which wakes it at once
(``mutations.common.add_message``). Waking touches the ticket, so it comes back on top of the
views sorted by last update; snoozing does not (a reminder is not news).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import field_validator

from supportdesk.domain.errors import InvalidTransition, ValidationFailed
from supportdesk.domain.mutations.common import label, load_ticket
from supportdesk.domain.registry import Args, mutation
from supportdesk.domain.tx import Tx
from supportdesk.store.enums import Status

#: The longest snooze: a ticket put away for longer is a ticket to solve or close.
LONGEST = timedelta(days=366)
#: Statuses a ticket may not be snoozed in: it is off the worklists already.
DONE = (Status.SOLVED, Status.CLOSED)


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("give the time with its zone (e.g. 2026-12-07T09:00:00+01:00)")
    return value.astimezone(UTC)


class Snooze(Args):
    ticket_id: str
    until: datetime

    @field_validator("until")
    @classmethod
    def _until_aware(cls, value: datetime) -> datetime:
        return _aware(value)


class Unsnooze(Args):
    ticket_id: str
    #: The console's wake when the time came: only the snooze it saw, only once it is due.
    woke: bool = False
    seen_until: datetime | None = None

    @field_validator("seen_until")
    @classmethod
    def _seen_aware(cls, value: datetime | None) -> datetime | None:
        return None if value is None else _aware(value)


def snoozed_until(ticket: dict[str, Any]) -> datetime | None:
    """The ticket's snooze as an aware time (None: not snoozed)."""
    value = ticket.get("snoozed_until")
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@mutation("ticket.snooze", Snooze)
def snooze(tx: Tx, args: Snooze) -> dict[str, Any]:
    """Put a ticket out of the worklists until a time (a new snooze replaces the old one)."""
    ticket = load_ticket(tx, args.ticket_id)
    if ticket["status"] in DONE:
        raise InvalidTransition(
            f"{label(ticket)} is {ticket['status']}: only open work can be snoozed", field="ticket_id"
        )
    if ticket.get("merged_into_id"):
        raise InvalidTransition(f"{label(ticket)} was merged into another ticket", field="ticket_id")
    if args.until <= tx.now:
        raise ValidationFailed("a snooze ends in the future", field="until")
    if args.until > tx.now + LONGEST:
        raise ValidationFailed("a snooze lasts at most a year", field="until")
    changed = tx.update(
        "ticket",
        ticket["id"],
        {"snoozed_until": args.until, "snoozed_by_id": tx.context.actor.id},
        current=ticket,
        touch=False,
    )
    return {"ticket_id": ticket["id"], "until": args.until.isoformat(), "changed": sorted(changed)}


@mutation("ticket.unsnooze", Unsnooze)
def unsnooze(tx: Tx, args: Unsnooze) -> dict[str, Any]:
    """Bring a snoozed ticket back into the worklists now, on top."""
    ticket = load_ticket(tx, args.ticket_id)
    until = snoozed_until(ticket)
    if args.woke:
        # the console's wake: a no-op unless the snooze it saw is still there and due
        if until is None or until > tx.now or (args.seen_until is not None and until != args.seen_until):
            return {"ticket_id": ticket["id"], "changed": []}
    elif until is None:
        raise ValidationFailed(f"{label(ticket)} is not snoozed", field="ticket_id")
    changed = tx.update("ticket", ticket["id"], {"snoozed_until": None, "snoozed_by_id": None}, current=ticket)
    return {"ticket_id": ticket["id"], "changed": sorted(changed)}
