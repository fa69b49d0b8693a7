"""Tables of SLAs, routing rules, customer feedback and handle time (issue #7).

``ticket_timing`` is derived data, like the FTS index: one row per ticket, rewritten in the same
transaction as every write that touches the ticket (see ``supportdesk.domain.timing``). It keeps
the ticket's SLA-relevant history (a compact event list), its clocks, the nearest deadline for
the queue's countdown and sort, and the per-ticket facts the reports aggregate. Because the
authority writes it like any shared row, a synced console receives clocks the server computed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from supportdesk.store.sla import NO_DEADLINE
from supportdesk.store.times import utcnow

DIMENSIONS = ("channel", "group_id", "assignee_id")
REPORT_CREATED = (
    "created_at",
    *DIMENSIONS,
    "first_reply_s",
    "sla_met",
    "sla_missed",
    "first_reply_due",
    "next_reply_due",
    "resolution_due",
    "next_reply_total_s",
    "next_reply_count",
)
REPORT_SOLVED = ("solved_at", *DIMENSIONS, "resolution_s", "replies", "reopens")


def _json(nullable: bool = False) -> Any:
    return Column(JSON, nullable=nullable)


class SLACalendar(SQLModel, table=True):
    """Business hours in one IANA time zone, with holidays (local dates)."""

    __tablename__ = "sla_calendar"

    id: str = Field(primary_key=True, max_length=36)
    name: str = Field(unique=True, max_length=120)
    timezone: str = Field(max_length=64)
    #: {"mon": [["09:00", "17:00"]], …}; a missing day is closed.
    hours: dict[str, Any] = Field(default_factory=dict, sa_column=_json())
    #: ["2026-12-25", …]
    holidays: list[str] = Field(default_factory=list, sa_column=_json())
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class SLAPolicy(SQLModel, table=True):
    """Targets for tickets of one priority (and optionally one group), in business minutes.

    A ticket takes the policy of its priority and group, else the one of its priority with no
    group. A target left NULL is not measured. No calendar means round the clock.
    """

    __tablename__ = "sla_policy"

    id: str = Field(primary_key=True, max_length=36)
    name: str = Field(unique=True, max_length=120)
    priority: str = Field(max_length=20)
    group_id: str | None = Field(default=None, foreign_key="groups.id", max_length=36)
    calendar_id: str | None = Field(default=None, foreign_key="sla_calendar.id", max_length=36)
    first_reply_minutes: int | None = None
    next_reply_minutes: int | None = None
    resolution_minutes: int | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class TicketTiming(SQLModel, table=True):
    """A ticket's SLA clocks and report facts, derived from its history (see module docstring)."""

    __tablename__ = "ticket_timing"
    __table_args__ = (
        Index("ix_ticket_timing_due", "due_at", "ticket_id"),
        Index("ix_ticket_timing_breach", "breach_at"),
        # Covering indexes: a report reads these, never the rows (see domain.metrics).
        Index("ix_ticket_timing_created", *REPORT_CREATED),
        Index("ix_ticket_timing_solved", *REPORT_SOLVED),
        Index("ix_ticket_timing_done", "done_at", *DIMENSIONS),
        Index("ix_ticket_timing_ticket", "ticket_id", *DIMENSIONS),
    )

    ticket_id: str = Field(primary_key=True, max_length=36)
    # copies of the ticket's own columns, rewritten with the row, so reports need no join
    created_at: datetime = Field(default_factory=utcnow)
    solved_at: datetime | None = None  # set while the ticket is solved or closed
    done_at: datetime | None = None  # solved_at, or when it was closed unsolved (merged)
    channel: str = Field(default="web", max_length=20)
    group_id: str | None = Field(default=None, max_length=36)
    assignee_id: str | None = Field(default=None, max_length=36)
    policy_id: str | None = Field(default=None, max_length=36)
    due_at: datetime = Field(default=NO_DEADLINE)
    breach_at: datetime | None = None
    paused: bool = False
    first_reply_due: datetime | None = None
    next_reply_due: datetime | None = None
    resolution_due: datetime | None = None
    sla_met: int = 0
    sla_missed: int = 0
    first_reply_s: int | None = None
    replies: int = 0
    next_reply_total_s: int = 0
    next_reply_count: int = 0
    resolution_s: int | None = None
    reopens: int = 0
    handle_s: int = 0
    # The JSON last: a report reading the columns above never loads their overflow pages.
    #: [[epoch seconds, kind, value], …]: created, inbound, reply, status.
    history: list[Any] = Field(default_factory=list, sa_column=_json())
    clocks: list[Any] = Field(default_factory=list, sa_column=_json())


class TriggerRule(SQLModel, table=True):
    """A routing rule: when a ticket arrives or changes and the conditions hold, run the actions."""

    __tablename__ = "trigger_rule"

    id: str = Field(primary_key=True, max_length=36)
    name: str = Field(unique=True, max_length=120)
    position: int = 0
    active: bool = True
    #: ["created"], ["updated"] or both.
    events: list[str] = Field(default_factory=list, sa_column=_json())
    conditions: dict[str, Any] = Field(default_factory=dict, sa_column=_json())
    actions: list[Any] = Field(default_factory=list, sa_column=_json())
    description: str = ""
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class AssignmentCursor(SQLModel, table=True):
    """Who round-robin assignment in a group gave the last ticket to."""

    __tablename__ = "assignment_cursor"

    group_id: str = Field(primary_key=True, max_length=36)
    agent_id: str = Field(max_length=36)
    updated_at: datetime = Field(default_factory=utcnow)


class HandleTime(SQLModel, table=True):
    """Time an agent spent focused on a ticket, as the console measured it."""

    __tablename__ = "handle_time"
    __table_args__ = (
        Index("ix_handle_time_at", "at", "agent_id", "ticket_id", "seconds"),  # covers the report
        Index("ix_handle_time_ticket", "ticket_id"),
    )

    id: str = Field(primary_key=True, max_length=36)
    ticket_id: str = Field(foreign_key="ticket.id", max_length=36)
    agent_id: str = Field(foreign_key="agent.id", max_length=36)
    seconds: int
    at: datetime = Field(default_factory=utcnow)


class TimeEntry(SQLModel, table=True):
    """Time an agent logged on a ticket by hand (``tickets time N 15m``), beside the measured
    handle time: calls, research, work away from the console. Correctable and deletable by its
    agent (or an admin); both kinds are in the reports."""

    __tablename__ = "time_entry"
    __table_args__ = (
        Index("ix_time_entry_ticket", "ticket_id", "at"),
        Index("ix_time_entry_at", "at", "agent_id", "ticket_id", "seconds"),  # covers the report
    )

    id: str = Field(primary_key=True, max_length=36)
    ticket_id: str = Field(foreign_key="ticket.id", max_length=36)
    agent_id: str = Field(foreign_key="agent.id", max_length=36)
    seconds: int
    note: str = Field(default="", max_length=500)
    at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class AutomationFiring(SQLModel, table=True):
    """An automation (a ``when: [scheduled]`` rule) fired on a ticket: it fires once per ticket
    while the ticket stays in its condition. The authority's bookkeeping, never synced; a run
    that finds the ticket out of the condition forgets the row, so a later return fires again."""

    __tablename__ = "automation_firing"

    rule_id: str = Field(primary_key=True, max_length=36)
    ticket_id: str = Field(primary_key=True, max_length=36)
    fired_at: datetime = Field(default_factory=utcnow)


class Survey(SQLModel, table=True):
    """One satisfaction survey sent for a solved ticket, and the customer's answer.

    The link carries a token signed by the authority (HMAC over the survey id); answering sets
    ``answered_at`` once, so a token works a single time.
    """

    __tablename__ = "survey"
    __table_args__ = (Index("ix_survey_answered", "answered_at"), Index("ix_survey_ticket", "ticket_id"))

    id: str = Field(primary_key=True, max_length=36)
    ticket_id: str = Field(foreign_key="ticket.id", max_length=36)
    issued_at: datetime = Field(default_factory=utcnow)
    answered_at: datetime | None = None
    csat: str | None = Field(default=None, max_length=4)  # good | bad
    comment: str = ""
    ces: int | None = None  # 1 (very hard) … 7 (very easy)
    nps: int | None = None  # 0 … 10
    message_id: str | None = Field(default=None, max_length=36)


SLA_SHARED_TABLES: tuple[str, ...] = (
    "sla_calendar",
    "sla_policy",
    "ticket_timing",
    "trigger_rule",
    "handle_time",
    "survey",
    "time_entry",
)
