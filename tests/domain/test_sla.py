"""SLA clocks: exact values on hand-built histories, pause and resume, and the write path keeping
``ticket_timing`` equal to what the audit trail says."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from supportdesk.domain import timing, write
from supportdesk.domain.business_hours import Calendar
from supportdesk.domain.context import SYSTEM
from supportdesk.domain.errors import Conflict, ValidationFailed
from supportdesk.store.sla import NO_DEADLINE
from supportdesk.store.times import utcnow
from supportdesk.store.workspace import Workspace
from tests.conftest import Team
from tests.timeline import at

LONDON = ZoneInfo("Europe/London")
OFFICE = Calendar.from_definition(
    "Europe/London", {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
)
TARGETS = timing.Targets("policy", 60 * 60.0, 120 * 60.0, 480 * 60.0, OFFICE)


def t(day: int, hour: int, minute: int = 0) -> float:
    """An instant in the week of Monday 23 November 2026, London time."""
    return datetime(2026, 11, day, hour, minute, tzinfo=LONDON).timestamp()


def when(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def test_a_whole_ticket_in_business_hours() -> None:
    history = [
        [t(23, 16, 30), "created", "new"],
        [t(23, 16, 30), "inbound", None],
        [t(24, 9, 45), "reply", "agent"],  # first reply: 30 min Monday + 45 min Tuesday = 75 > 60
        [t(24, 9, 45), "status", "open"],
        [t(24, 10, 0), "status", "pending"],  # resolution paused at 30 + 60 = 90 minutes
        [t(25, 11, 0), "inbound", None],  # arrives while pending: next reply starts paused
        [t(25, 11, 0), "status", "open"],
        [t(25, 12, 0), "reply", "agent"],  # next reply: 60 of 120 minutes
        [t(25, 14, 0), "status", "solved"],  # resolution: 90 + 180 = 270 of 480 minutes
    ]
    row = timing.timing_row(history, TARGETS)
    clocks = {c["metric"]: c for c in row["clocks"]}
    assert clocks["first_reply"]["elapsed"] == 75 * 60
    assert clocks["first_reply"]["breach"] == t(24, 9, 30)
    assert clocks["next_reply"]["elapsed"] == 60 * 60
    assert clocks["resolution"]["elapsed"] == 270 * 60
    assert (row["sla_met"], row["sla_missed"]) == (2, 1)
    assert row["breach_at"] == when(t(24, 9, 30))
    assert row["due_at"] == NO_DEADLINE
    assert row["paused"] is False
    assert row["first_reply_s"] == 17 * 3600 + 15 * 60
    assert (row["replies"], row["next_reply_total_s"], row["next_reply_count"]) == (2, 3600, 1)
    assert row["resolution_s"] == 45 * 3600 + 30 * 60
    assert row["reopens"] == 0


def test_pending_pauses_every_clock_and_open_resumes_it() -> None:
    history = [[t(23, 10, 0), "created", "new"], [t(23, 10, 0), "inbound", None], [t(23, 10, 30), "status", "pending"]]
    paused = timing.timing_row(history, TARGETS)
    assert paused["paused"] is True
    assert paused["due_at"] == NO_DEADLINE and paused["breach_at"] is None
    assert {c["metric"]: c["elapsed"] for c in paused["clocks"]} == {"resolution": 1800, "first_reply": 1800}

    resumed = timing.timing_row([*history, [t(23, 14, 0), "status", "open"]], TARGETS)
    assert resumed["paused"] is False
    # 30 minutes of first reply left from 14:00; 450 of resolution: 180 on Monday, 270 on Tuesday
    assert resumed["first_reply_due"] == when(t(23, 14, 30))
    assert resumed["resolution_due"] == when(t(24, 13, 30))
    assert resumed["due_at"] == when(t(23, 14, 30))
    assert resumed["breach_at"] == when(t(23, 14, 30))


def test_on_hold_over_a_weekend_costs_nothing() -> None:
    history = [
        [t(27, 16, 0), "created", "new"],
        [t(27, 16, 0), "inbound", None],
        [t(27, 16, 10), "status", "on_hold"],
        [t(30, 9, 0), "status", "open"],
    ]
    row = timing.timing_row(history, TARGETS)
    assert row["first_reply_due"] == when(t(30, 9, 50))


def test_reopening_resumes_resolution_and_counts_a_reopen() -> None:
    history = [
        [t(23, 9, 0), "created", "new"],
        [t(23, 9, 0), "inbound", None],
        [t(23, 10, 0), "reply", "agent"],
        [t(23, 10, 0), "status", "solved"],
        [t(23, 15, 0), "inbound", None],
        [t(23, 15, 0), "status", "open"],
    ]
    row = timing.timing_row(history, TARGETS)
    assert row["reopens"] == 1
    assert row["resolution_s"] is None
    # resolution had 60 of 480 minutes; it resumes at 15:00 with 420 left: Tuesday 14:00
    assert row["resolution_due"] == when(t(24, 14, 0))
    # the customer's new message starts a next-reply clock of 120 minutes: 15:00 + 2h = 17:00
    assert row["next_reply_due"] == when(t(23, 17, 0))
    assert row["due_at"] == when(t(23, 17, 0))


def test_a_running_clock_past_its_deadline_is_breached_by_its_deadline() -> None:
    history = [[t(23, 9, 0), "created", "new"], [t(23, 9, 0), "inbound", None]]
    row = timing.timing_row(history, TARGETS)
    assert row["due_at"] == row["breach_at"] == when(t(23, 10, 0))
    assert (row["sla_met"], row["sla_missed"]) == (0, 0)


def test_auto_replies_and_notes_stop_no_clock() -> None:
    records = [
        (t(23, 9, 0), "ticket.created", None, "t1", None),
        (t(23, 9, 0), "message.inbound", None, "m1", None),
        (t(23, 9, 1), "message.reply", None, "m2", None),  # the system's auto-reply
        (t(23, 9, 2), "message.note", None, "m3", "agent-1"),
    ]
    history = timing.history_from_records(records, "new")
    assert [e[1] for e in history] == ["created", "inbound"]
    assert timing.timing_row(history, TARGETS)["first_reply_due"] == when(t(23, 10, 0))


def test_no_policy_means_no_clocks_but_facts_are_kept() -> None:
    history = [[t(23, 9, 0), "created", "new"], [t(23, 9, 0), "inbound", None], [t(23, 9, 20), "reply", "a"]]
    row = timing.timing_row(history, timing.NO_TARGETS)
    assert row["clocks"] == [] and row["due_at"] == NO_DEADLINE and row["policy_id"] is None
    assert row["first_reply_s"] == 20 * 60


def test_the_group_policy_wins_over_the_priority_policy() -> None:
    rows = [
        {
            "id": "p1",
            "priority": "high",
            "group_id": None,
            "calendar_id": None,
            "first_reply_minutes": 60,
            "next_reply_minutes": None,
            "resolution_minutes": None,
        },
        {
            "id": "p2",
            "priority": "high",
            "group_id": "g",
            "calendar_id": None,
            "first_reply_minutes": 15,
            "next_reply_minutes": None,
            "resolution_minutes": None,
        },
    ]
    book = timing.PolicyBook.load(rows, [])
    assert book.targets("high", "g").policy_id == "p2"
    assert book.targets("high", "other").policy_id == "p1"
    assert book.targets("low", None) is timing.NO_TARGETS


# --- through the write path ---------------------------------------------------------------------


def _timing(workspace: Workspace, ticket_id: str) -> dict[str, Any]:
    with workspace.reading() as connection:
        row = connection.execute("SELECT * FROM ticket_timing WHERE ticket_id = ?", (ticket_id,)).fetchone()
    assert row is not None
    return dict(row)


@pytest.fixture
def office_policy(team: Team) -> str:
    calendar = at(
        team.workspace,
        datetime(2026, 11, 1, tzinfo=UTC),
        "sla.calendar.create",
        {
            "name": "London office",
            "timezone": "Europe/London",
            "hours": {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
            "holidays": ["2026-12-25"],
        },
    )["calendar_id"]
    return str(
        at(
            team.workspace,
            datetime(2026, 11, 1, tzinfo=UTC),
            "sla.policy.create",
            {
                "name": "Normal",
                "priority": "normal",
                "calendar_id": calendar,
                "first_reply_minutes": 60,
                "next_reply_minutes": 120,
                "resolution_minutes": 480,
            },
        )["policy_id"]
    )


def _new_ticket(team: Team, moment: datetime, **extra: Any) -> str:
    result = at(
        team.workspace,
        moment,
        "ticket.create",
        {"subject": "Printer on fire", "body": "Help", "requester": {"value": "kim@example.com"}, **extra},
    )
    return str(result["ticket_id"])


def test_the_write_path_keeps_clocks_and_the_audit_trail_rebuilds_the_same(team: Team, office_policy: str) -> None:
    ws = team.workspace
    ticket = _new_ticket(team, when(t(23, 16, 30)), group_id=team.tier1)
    created = _timing(ws, ticket)
    assert created["policy_id"] == office_policy
    assert created["due_at"] == "2026-11-24 09:30:00.000000"
    at(ws, when(t(24, 9, 45)), "ticket.reply", {"ticket_id": ticket, "body": "On it", "status": "pending"}, team.agent)
    at(ws, when(t(25, 11, 0)), "ticket.receive", {"ticket_id": ticket, "body": "Still burning"})
    at(ws, when(t(25, 12, 0)), "ticket.reply", {"ticket_id": ticket, "body": "Fixed?"}, team.agent)
    at(ws, when(t(25, 14, 0)), "ticket.set_status", {"ticket_id": ticket, "status": "solved"}, team.agent)
    kept = _timing(ws, ticket)
    assert (kept["sla_met"], kept["sla_missed"], kept["replies"]) == (2, 1, 2)
    assert kept["breach_at"] == "2026-11-24 09:30:00.000000"
    assert kept["resolution_s"] == 45 * 3600 + 30 * 60
    assert [e[1:] for e in json.loads(kept["history"])] == [
        ["created", "new"],
        ["inbound", None],
        ["reply", team.agent.id],
        ["status", "pending"],
        ["inbound", None],
        ["status", "open"],
        ["reply", team.agent.id],
        ["status", "solved"],
    ]
    connection = ws.connect()
    try:
        connection.execute("DELETE FROM ticket_timing")
        assert timing.rebuild(connection) == 1
    finally:
        connection.close()
    rebuilt = _timing(ws, ticket)
    assert rebuilt == kept


def test_a_priority_change_re_times_the_ticket_with_the_new_policy(team: Team, office_policy: str) -> None:
    ws = team.workspace
    at(ws, when(t(1, 0)), "sla.policy.create", {"name": "Urgent", "priority": "urgent", "first_reply_minutes": 15})
    ticket = _new_ticket(team, when(t(23, 10, 0)))
    assert _timing(ws, ticket)["first_reply_due"] == "2026-11-23 11:00:00.000000"
    at(ws, when(t(23, 10, 5)), "ticket.set_priority", {"ticket_id": ticket, "priority": "urgent"}, team.agent)
    urgent = _timing(ws, ticket)
    assert urgent["first_reply_due"] == "2026-11-23 10:15:00.000000"
    assert urgent["resolution_due"] is None


def test_changing_a_policy_re_times_unsolved_tickets_at_once(team: Team, office_policy: str) -> None:
    ws = team.workspace
    ticket = _new_ticket(team, when(t(23, 10, 0)))
    result = at(ws, when(t(23, 10, 1)), "sla.policy.update", {"policy_id": office_policy, "first_reply_minutes": 30})
    assert result["retimed"] == 1
    assert _timing(ws, ticket)["first_reply_due"] == "2026-11-23 10:30:00.000000"


def test_policies_and_calendars_are_checked(team: Team, office_policy: str) -> None:
    ws = team.workspace
    with pytest.raises(Conflict, match="already covers"):
        write.apply(
            ws, "sla.policy.create", {"name": "Twice", "priority": "normal", "first_reply_minutes": 5}, actor=SYSTEM
        )
    with pytest.raises(ValidationFailed, match="at least one target"):
        write.apply(ws, "sla.policy.create", {"name": "Empty", "priority": "low"}, actor=SYSTEM)
    with pytest.raises(ValidationFailed, match="not a time zone"):
        bad = {"name": "Bad", "timezone": "Nowhere/Land", "hours": {"mon": [["09:00", "17:00"]]}}
        write.apply(ws, "sla.calendar.create", bad, actor=SYSTEM)
    with pytest.raises(Exception, match="may not run"):
        write.apply(ws, "sla.policy.delete", {"id": office_policy}, actor=team.agent)


def test_every_ticket_gets_a_timing_row_even_without_policies(team: Team) -> None:
    ticket = _new_ticket(team, utcnow() - timedelta(minutes=5))
    row = _timing(team.workspace, ticket)
    assert row["policy_id"] is None and row["clocks"] == "[]"


def test_upgrading_a_workspace_from_before_slas_then_rebuilding(team: Team, office_policy: str) -> None:
    """The migration gives every ticket an empty timing row; ``rebuild`` fills it from the audit trail."""
    from alembic import command

    from supportdesk.store.migrate import _alembic_config

    ws = team.workspace
    ticket = _new_ticket(team, when(t(23, 10, 0)))
    at(ws, when(t(23, 10, 30)), "ticket.reply", {"ticket_id": ticket, "body": "Hello"}, team.agent)
    kept = _timing(ws, ticket)
    with ws.engine.begin() as connection:
        command.downgrade(_alembic_config(connection), "0001_initial")
        command.upgrade(_alembic_config(connection), "head")
    empty = _timing(ws, ticket)
    assert (empty["history"], empty["due_at"], empty["policy_id"]) == ("[]", "9999-12-31 00:00:00.000000", None)
    connection = ws.connect()
    try:
        assert timing.rebuild(connection) == 1
    finally:
        connection.close()
    rebuilt = _timing(ws, ticket)
    assert rebuilt["history"] == kept["history"]
    # the downgrade dropped the policies too, so the rebuilt row has facts but no clocks
    assert (rebuilt["first_reply_s"], rebuilt["replies"], rebuilt["policy_id"]) == (1800, 1, None)
