"""The demo company's SLAs, routing rules and the time-line of each demo ticket.

The generator builds each ticket's conversation; :func:`timeline` turns it into the audit events
the write path would have recorded (created, each public message, each status change, the first
response) and the same history the write path keeps in ``ticket_timing``, so the clocks, the
reports and ``supportdesk sla rebuild`` all agree on the demo. A few tickets are solved early
and reopened by the customer, so reopen rates and first-contact resolution have something to show.
"""

from __future__ import annotations

import json
import random
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from supportdesk.domain.timing import PolicyBook
from supportdesk.domain.triggers import parse_definition

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
CALENDAR = {
    "name": "Brightline office hours",
    "timezone": "Europe/London",
    "hours": {day: [["08:00", "18:00"]] for day in WEEKDAYS},
    "holidays": [
        "2025-12-25",
        "2025-12-26",
        "2026-01-01",
        "2026-04-03",
        "2026-04-06",
        "2026-05-04",
        "2026-05-25",
        "2026-08-31",
        "2026-12-25",
        "2026-12-28",
        "2027-01-01",
    ],
}
# name, priority, group, office hours?, first reply, next reply, resolution (minutes)
POLICIES: tuple[tuple[str, str, str | None, bool, int, int, int], ...] = (
    ("Urgent: round the clock", "urgent", None, False, 30, 60, 8 * 60),
    ("High", "high", None, True, 2 * 60, 4 * 60, 2 * 600),
    ("Normal", "normal", None, True, 8 * 60, 12 * 60, 5 * 600),
    ("Low", "low", None, True, 16 * 60, 24 * 60, 10 * 600),
    ("VIP normal", "normal", "VIP", True, 2 * 60, 4 * 60, 2 * 600),
)
RULES: tuple[dict[str, Any], ...] = (
    {
        "name": "Refunds go to Billing",
        "position": 10,
        "when": ["created"],
        "conditions": {"all": {"words": ["refund", "chargeback", "invoice"]}},
        "actions": [{"set_group": "Billing"}, {"add_tags": ["refund"]}],
    },
    {
        "name": "Enterprise accounts are high priority",
        "position": 20,
        "when": ["created"],
        "conditions": {"all": {"tags": ["vip"], "priority": ["low", "normal"]}},
        "actions": [{"set_priority": "high"}, {"set_group": "VIP"}],
    },
    {
        "name": "Acknowledge web forms",
        "position": 30,
        "when": ["created"],
        "conditions": {"all": {"channel": ["web"]}},
        "actions": [
            {
                "auto_reply": "Hi {{ ticket.requester.first_name }},\n\nThanks for writing to Brightline. "
                "Your request #{{ ticket.number }} is with our {{ ticket.group.name }} team; we answer "
                "within one working day.\n\nBrightline Support"
            }
        ],
    },
    {
        "name": "Share Tier 1 fairly",
        "position": 40,
        "when": ["created"],
        "conditions": {"all": {"group": ["Tier 1"], "channel": ["email", "web", "social"]}},
        "actions": [{"assign": "round_robin"}],
    },
    {
        "name": "Urgent tickets to the least busy Tier 2 agent",
        "position": 50,
        "when": ["created", "updated"],
        "conditions": {"all": {"priority": ["urgent"], "group": ["Tier 2"]}, "any": {"not_tags": ["escalated"]}},
        "actions": [{"add_tags": ["escalated"]}, {"assign": "least_loaded"}],
    },
)
SURVEY_COMMENTS_GOOD = (
    "Quick and clear, thank you!",
    "Sorted in one go.",
    "Very helpful, explained everything.",
    "",
    "",
)
SURVEY_COMMENTS_BAD = (
    "Took far too long to hear back.",
    "I had to explain the problem three times.",
    "The fix did not work.",
    "",
)


def insert_service_levels(
    connection: sqlite3.Connection, new_id: Callable[[], str], group_ids: dict[str, str], created: str
) -> PolicyBook:
    """The calendar, the policies and the rules, straight into the tables."""
    calendar_id = new_id()
    connection.execute(
        "INSERT INTO sla_calendar (id, name, timezone, hours, holidays, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            calendar_id,
            CALENDAR["name"],
            CALENDAR["timezone"],
            json.dumps(CALENDAR["hours"]),
            json.dumps(CALENDAR["holidays"]),
            created,
            created,
        ),
    )
    policies = []
    for name, priority, group, office, first, next_, resolution in POLICIES:
        policies.append(
            {
                "id": new_id(),
                "name": name,
                "priority": priority,
                "group_id": group_ids[group] if group else None,
                "calendar_id": calendar_id if office else None,
                "first_reply_minutes": first,
                "next_reply_minutes": next_,
                "resolution_minutes": resolution,
            }
        )
    connection.executemany(
        "INSERT INTO sla_policy (id, name, priority, group_id, calendar_id, first_reply_minutes, next_reply_minutes, "
        "resolution_minutes, created_at, updated_at) VALUES (:id, :name, :priority, :group_id, :calendar_id, "
        f":first_reply_minutes, :next_reply_minutes, :resolution_minutes, '{created}', '{created}')",
        policies,
    )
    rules = []
    for definition in RULES:
        rule = parse_definition(definition)
        rules.append(
            (
                new_id(),
                rule.name,
                rule.position,
                json.dumps(sorted(set(rule.when))),
                json.dumps(rule.conditions.model_dump()),
                json.dumps(rule.actions),
                created,
                created,
            )
        )
    connection.executemany(
        "INSERT INTO trigger_rule (id, name, position, active, events, conditions, actions, description, created_at, "
        "updated_at) VALUES (?, ?, ?, 1, ?, ?, ?, '', ?, ?)",
        rules,
    )
    calendars = [{"id": calendar_id, **{k: CALENDAR[k] for k in ("timezone", "hours", "holidays")}}]
    return PolicyBook.load(policies, calendars)


# (ms, kind, body, author agent, direction, public) as the generator builds them
Turn = tuple[int, str, str, str | None, str, int]


@dataclass
class Timeline:
    history: list[list[Any]] = field(default_factory=list)
    audits: list[tuple[object, ...]] = field(default_factory=list)


def timeline(
    ticket_id: str,
    created_ms: int,
    conversation: list[Turn],
    status: str,
    solved_ms: int | None,
    closed_ms: int | None,
    assignee: str | None,
    reopen: bool,
    db_time: Callable[[int], str],
    iso: Callable[[int], str],
) -> Timeline:
    """The audit events and history of one demo ticket, in the order the write path makes them.

    With ``reopen`` the ticket was solved right after the first agent reply and the customer's
    next message reopened it.
    """
    result = Timeline()
    audits, history = result.audits, result.history
    current = "new"

    def audit(ms: int, actor: str | None, mutation: str, field_name: str, before: Any, after: Any) -> None:
        audits.append((db_time(ms), actor, mutation, "demo", "ticket", ticket_id, field_name, _j(before), _j(after)))

    def move(ms: int, actor: str | None, mutation: str, target: str) -> None:
        nonlocal current
        if target != current:
            audit(ms, actor, mutation, "status", current, target)
            history.append([ms / 1000, "status", target])
            current = target

    audit(created_ms, None, "ticket.create", "ticket.created", None, ticket_id)
    history.append([created_ms / 1000, "created", "new"])
    public = [turn for turn in conversation if turn[5]]
    agent_turns = [i for i, turn in enumerate(public) if turn[1] == "agent"]
    last_agent = agent_turns[-1] if agent_turns else None
    replied = False
    for index, (ms, kind, _body, agent, _direction, _public) in enumerate(public):
        if kind == "customer":
            mutation = "ticket.create" if index == 0 else "ticket.receive"
            audit(ms, None, mutation, "message.inbound", None, "m")
            history.append([ms / 1000, "inbound", None])
            if current in ("pending", "on_hold", "solved"):
                move(ms, None, "ticket.receive", "open")
            continue
        audit(ms, agent, "ticket.reply", "message.reply", None, "m")
        history.append([ms / 1000, "reply", agent])
        if not replied:
            audit(ms, agent, "ticket.reply", "first_response_at", None, iso(ms))
            replied = True
            move(ms, agent, "ticket.reply", "open")
            if reopen and index + 1 < len(public) and public[index + 1][1] == "customer":
                move(ms, agent, "ticket.reply", "solved")
        if index == last_agent and status in ("pending", "on_hold") and public[-1][1] == "agent":
            move(ms, agent, "ticket.reply", status)
    last_ms = public[-1][0] if public else created_ms
    if status in ("pending", "on_hold", "open") and current != status:
        move(last_ms, assignee, "ticket.set_status", status)
    if status in ("solved", "closed") and solved_ms is not None:
        if current != "solved":
            move(max(solved_ms, last_ms), assignee, "ticket.set_status", "solved")
        if status == "closed" and closed_ms is not None:
            move(max(closed_ms, solved_ms), None, "ticket.set_status", "closed")
    return result


def _j(value: Any) -> str | None:
    """JSON of an audit value; the demo's are ids, statuses and times, quoted without escapes."""
    if value is None:
        return None
    if isinstance(value, str) and value.isascii() and value.isprintable() and '"' not in value and "\\" not in value:
        return f'"{value}"'
    return json.dumps(value)


@dataclass
class SurveyAnswer:
    csat: str
    ces: int
    nps: int
    comment: str


def survey_answer(rng: random.Random, breached: bool) -> SurveyAnswer:
    """Happier customers when the SLA held; effort and loyalty follow satisfaction."""
    good = rng.random() < (0.62 if breached else 0.9)
    if good:
        return SurveyAnswer(
            "good", rng.choice((5, 6, 6, 7, 7)), rng.choice((7, 8, 9, 9, 10, 10)), rng.choice(SURVEY_COMMENTS_GOOD)
        )
    return SurveyAnswer(
        "bad", rng.choice((1, 2, 3, 4)), rng.choice((0, 2, 4, 5, 6, 7)), rng.choice(SURVEY_COMMENTS_BAD)
    )


def survey_body(answer: SurveyAnswer) -> str:
    text = f"The customer rated the support {answer.csat}, effort {answer.ces}/7, would recommend {answer.nps}/10."
    return f"{text}\n\n{answer.comment}" if answer.comment else text
