"""Every metric on a hand-built week of four tickets, with the values worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from supportdesk.domain import feedback
from supportdesk.domain.metrics import build_report, since_from
from supportdesk.store.workspace import Workspace
from tests.conftest import Team
from tests.timeline import at

SINCE = datetime(2026, 11, 1, tzinfo=UTC)
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def mon(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, 23, hour, minute, tzinfo=UTC)


def tue(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, 24, hour, minute, tzinfo=UTC)


def _answer(ws: Workspace, ticket_id: str, when: datetime, **answer: Any) -> None:
    with ws.reading() as connection:
        survey_id = connection.execute("SELECT id FROM survey WHERE ticket_id = ?", (ticket_id,)).fetchone()[0]
    with ws.engine.begin() as connection:
        token = feedback.survey_token(connection, survey_id)
    at(ws, when, "survey.answer", {"token": token, **answer})


@pytest.fixture
def week(team: Team) -> Team:
    """A: answered and solved at once. B: slow first reply, two next replies, reopened. C: never
    answered (its clocks run past their deadlines). D: pending, its clocks paused."""
    ws, sam, bea = team.workspace, team.agent, team.other
    at(
        ws,
        mon(0),
        "sla.policy.create",
        {"name": "Normal", "priority": "normal", "first_reply_minutes": 60, "resolution_minutes": 600},
    )

    def ticket(when: datetime, channel: str, group: str, assignee: str | None) -> str:
        args = {
            "subject": "Help",
            "body": "Please",
            "requester": {"value": f"{channel}@example.com"},
            "channel": channel,
            "group_id": group,
            "assignee_id": assignee,
        }
        return str(at(ws, when, "ticket.create", args)["ticket_id"])

    a = ticket(mon(9), "email", team.tier1, sam.id)
    at(ws, mon(9, 30), "ticket.reply", {"ticket_id": a, "body": "Done", "status": "solved"}, sam)
    at(ws, mon(9, 30), "ticket.record_handle_time", {"ticket_id": a, "seconds": 600}, sam)
    at(ws, mon(9, 45), "ticket.log_time", {"ticket_id": a, "seconds": 1800, "note": "call"}, sam)

    b = ticket(mon(10), "chat", team.tier1, sam.id)
    at(ws, mon(11, 30), "ticket.reply", {"ticket_id": b, "body": "Looking"}, sam)
    at(ws, mon(11, 30), "ticket.record_handle_time", {"ticket_id": b, "seconds": 300}, sam)
    at(ws, mon(12), "ticket.receive", {"ticket_id": b, "body": "Any news?"})
    at(ws, mon(12, 20), "ticket.reply", {"ticket_id": b, "body": "Fixed"}, sam)
    at(ws, mon(13), "ticket.set_status", {"ticket_id": b, "status": "solved"}, sam)
    at(ws, tue(9), "ticket.receive", {"ticket_id": b, "body": "It broke again"})
    at(ws, tue(9, 10), "ticket.reply", {"ticket_id": b, "body": "Fixed for good"}, sam)
    at(ws, tue(9, 10), "ticket.record_handle_time", {"ticket_id": b, "seconds": 300}, sam)
    at(ws, tue(10, 30), "ticket.set_status", {"ticket_id": b, "status": "solved"}, sam)

    c = ticket(mon(11), "email", team.billing, bea.id)
    at(ws, mon(11, 10), "ticket.record_handle_time", {"ticket_id": c, "seconds": 120}, bea)
    at(ws, tue(8), "ticket.log_time", {"ticket_id": c, "seconds": 600}, bea)

    d = ticket(mon(12), "web", team.tier1, None)
    at(ws, mon(12, 5), "ticket.set_status", {"ticket_id": d, "status": "pending"}, sam)

    _answer(ws, a, mon(15), csat="good", ces=6, nps=10, comment="Great")
    _answer(ws, b, tue(11), csat="bad", ces=2, nps=3)
    return team


def _rows(team: Team, by: str | None) -> dict[Any, dict[str, Any]]:
    with team.workspace.reading() as connection:
        report = build_report(connection, since=SINCE, until=NOW, by=by)
    return {row[report.key]: row for row in report.rows}


def test_every_metric_overall(week: Team) -> None:
    assert _rows(week, None)["all"] == {
        "scope": "all",
        "created": 4,
        "solved": 2,  # A on Monday, B (finally) on Tuesday
        "backlog": 2,  # C and D
        "first_reply_median_m": 60.0,  # A 30 min, B 90 min
        "first_reply_mean_m": 60.0,
        "next_reply_mean_m": 15.0,  # B waited 20 and 10 minutes
        "resolution_median_h": 12.5,  # A 0.5 h, B 24.5 h
        "resolution_mean_h": 12.5,
        "fcr_pct": 50.0,  # A: one reply, never reopened
        "reopen_pct": 50.0,  # B
        "sla_attainment_pct": 50.0,  # met: A×2, B resolution; missed: B first reply, C's two overdue clocks
        "csat_pct": 50.0,
        "nps": 0.0,  # one promoter (10), one detractor (3)
        "ces": 4.0,
        "surveys": 2,
        "handle_h": 0.4,  # 1,320 s
        "handle_per_ticket_m": 7.3,  # over A, B and C
        "logged_h": 0.7,  # 2,400 s logged by hand
        "time_spent_h": 1.0,  # 1,320 s measured + 2,400 s logged
    }


def test_by_agent(week: Team) -> None:
    rows = _rows(week, "agent")
    sam, bea, nobody = rows["Sam Agent"], rows["Bea Billing"], rows["(unassigned)"]
    assert (sam["created"], sam["solved"], sam["backlog"]) == (2, 2, 0)
    assert (sam["sla_attainment_pct"], sam["fcr_pct"], sam["csat_pct"]) == (75.0, 50.0, 50.0)
    assert (sam["handle_h"], sam["handle_per_ticket_m"]) == (0.3, 10.0)
    assert (sam["logged_h"], sam["time_spent_h"], bea["logged_h"], bea["time_spent_h"]) == (0.5, 0.8, 0.2, 0.2)
    assert (bea["created"], bea["solved"], bea["backlog"], bea["sla_attainment_pct"]) == (1, 0, 1, 0.0)
    assert (bea["handle_per_ticket_m"], bea["first_reply_median_m"]) == (2.0, None)
    assert (nobody["created"], nobody["backlog"], nobody["sla_attainment_pct"]) == (1, 1, None)


def test_by_group_and_channel(week: Team) -> None:
    groups = _rows(week, "group")
    assert (groups["Tier 1"]["created"], groups["Tier 1"]["backlog"], groups["Billing"]["created"]) == (3, 1, 1)
    channels = _rows(week, "channel")
    assert {name: row["created"] for name, row in channels.items()} == {"email": 2, "chat": 1, "web": 1}
    assert channels["chat"]["reopen_pct"] == 100.0


def test_by_day_with_backlog_at_the_end_of_each_day(week: Team) -> None:
    days = _rows(week, "day")
    monday, tuesday = days["2026-11-23"], days["2026-11-24"]
    assert (monday["created"], monday["solved"], monday["backlog"]) == (4, 1, 3)
    assert (tuesday["created"], tuesday["solved"], tuesday["backlog"]) == (0, 1, 2)
    assert (monday["handle_h"], tuesday["handle_h"]) == (0.3, 0.1)
    assert (monday["logged_h"], tuesday["logged_h"]) == (0.5, 0.2)
    assert (monday["csat_pct"], tuesday["csat_pct"]) == (100.0, 0.0)


def test_periods() -> None:
    assert since_from("30d", NOW) == datetime(2026, 10, 25, 12, 0, tzinfo=UTC)
    assert since_from("2026-01-01", NOW) == datetime(2026, 1, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="not a period"):
        since_from("lately", NOW)


def test_an_empty_period_reports_zeros_and_blanks(team: Team) -> None:
    with team.workspace.reading() as connection:
        report = build_report(connection, since=SINCE, until=NOW)
    (row,) = report.rows
    assert (row["created"], row["solved"], row["backlog"], row["surveys"]) == (0, 0, 0, 0)
    assert (row["sla_attainment_pct"], row["csat_pct"], row["first_reply_median_m"], row["handle_h"]) == (None,) * 4
