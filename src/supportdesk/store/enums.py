"""The closed vocabularies of the store.

Plain ``StrEnum``s with no ORM import, so the fast read path (CLI listing, the console's first
frame) can validate and order values without loading SQLModel.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class Status(StrEnum):
    NEW = "new"
    OPEN = "open"
    PENDING = "pending"
    ON_HOLD = "on_hold"
    SOLVED = "solved"
    CLOSED = "closed"


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"

    @property
    def rank(self) -> int:
        """Ordering used by ``priority>=high`` and by sorting: low < normal < high < urgent."""
        return PRIORITY_RANK[self]


PRIORITY_RANK: dict[Priority, int] = {
    Priority.LOW: 1,
    Priority.NORMAL: 2,
    Priority.HIGH: 3,
    Priority.URGENT: 4,
}

STATUS_RANK: dict[Status, int] = {s: i for i, s in enumerate(Status, start=1)}

#: Statuses of the tickets still to work on, in rank order ("All open", ``status<solved``).
UNSOLVED: tuple[Status, ...] = (Status.NEW, Status.OPEN, Status.PENDING, Status.ON_HOLD)


def status_in(statuses: Iterable[Status], column: str = "t.status") -> str:
    """``t.status IN ('new', 'open')``: statuses written into SQL as literals — our own values,
    never user text — so a query can match a partial index's condition word for word."""
    literals = ", ".join(f"'{Status(status).value}'" for status in statuses)
    return f"{column} IN ({literals})"


class TicketType(StrEnum):
    QUESTION = "question"
    INCIDENT = "incident"
    PROBLEM = "problem"
    TASK = "task"


class Channel(StrEnum):
    """Where a message came from or went to."""

    EMAIL = "email"
    CHAT = "chat"
    PHONE = "phone"
    SOCIAL = "social"
    WEB = "web"
    SMS = "sms"
    API = "api"


class IdentityKind(StrEnum):
    """The channels on which a customer has an address of their own."""

    EMAIL = "email"
    PHONE = "phone"
    CHAT = "chat"
    SOCIAL = "social"


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class AuthorKind(StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"
    SYSTEM = "system"


class Role(StrEnum):
    ADMIN = "admin"
    AGENT = "agent"
    LIGHT_AGENT = "light_agent"
