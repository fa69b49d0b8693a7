"""The report rollup (``report_day``) against the slow path, on random histories.

Random tickets are created, answered, solved, reopened, reassigned, merged and erased through
the write path at random times over a few weeks, with handle time recorded and time logged,
corrected and deleted by either agent and surveys answered; then, under the test clock, every
report (overall and by every grouping) over windows relative to "now" — ``--since 6h`` to
``--since 60d``, starting mid-day or at midnight — must equal the one the source tables alone
give, and the rollups the triggers kept (``report_day`` and those of
:mod:`supportdesk.store.rollup_activity`) must equal the ones ``report rebuild`` recomputes.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from supportdesk.domain.errors import DomainError
from supportdesk.domain.metrics import GROUPINGS, build_report, since_from
from supportdesk.store import rollup, rollup_activity
from supportdesk.store.times import utcnow
from tests.conftest import Team, TestClock
from tests.timeline import at

START = datetime(2026, 10, 1, 7, 30, tzinfo=UTC)
CHANNELS = ("email", "chat", "web")
STATUSES = ("open", "pending", "solved", "closed", "on_hold")

minutes = st.integers(min_value=0, max_value=3 * 24 * 60)
pick = st.integers(min_value=0, max_value=50)
operation = st.one_of(
    st.tuples(st.just("create"), minutes, st.sampled_from(CHANNELS), pick, pick),
    st.tuples(st.just("reply"), minutes, pick, st.booleans()),
    st.tuples(st.just("receive"), minutes, pick),
    st.tuples(st.just("status"), minutes, pick, st.sampled_from(STATUSES)),
    st.tuples(st.just("assign"), minutes, pick, pick, pick),
    st.tuples(st.just("merge"), minutes, pick, pick),
    st.tuples(st.just("time"), minutes, pick, st.integers(min_value=1, max_value=7200), pick),
    st.tuples(st.just("log"), minutes, pick, st.integers(min_value=1, max_value=480), pick),
    st.tuples(st.just("correct"), minutes, pick, st.integers(min_value=1, max_value=480)),
    st.tuples(st.just("unlog"), minutes, pick),
    st.tuples(
        st.just("answer"),
        minutes,
        pick,
        st.sampled_from(("good", "bad", None)),
        st.one_of(st.none(), st.integers(min_value=1, max_value=7)),
        st.one_of(st.none(), st.integers(min_value=0, max_value=10)),
    ),
    st.tuples(st.just("erase"), minutes, pick),
)
window = st.one_of(
    st.integers(min_value=1, max_value=60 * 24).map(lambda hours: f"{hours}h"),
    st.integers(min_value=1, max_value=60).map(lambda days: f"{days}d"),
    st.just("2000-01-01"),
)


ROLLUPS = {
    rollup.TABLE: len(rollup.KEYS),
    rollup_activity.ACTIVITY_TABLE: len(rollup_activity.ACTIVITY_KEYS),
    rollup_activity.HANDLE_TABLE: len(rollup_activity.HANDLE_KEYS),
}


def _server_rollup_rows(connection: Any) -> set[tuple[Any, ...]]:
    """Every rollup row of a server database with a figure in it, numbers as ints (PostgreSQL
    sums come back as Decimal): what the triggers kept, to compare with what a rebuild makes."""
    from sqlalchemy import text

    kept = set()
    for table, keys in ROLLUPS.items():
        found = connection.execute(text(f"SELECT * FROM {table}")).all()
        kept |= {(table, *(int(v) if isinstance(v, Decimal) else v for v in row)) for row in found if any(row[keys:])}
    return kept


def _rollup_rows(connection: sqlite3.Connection) -> set[tuple[Any, ...]]:
    """Every rollup's rows, less those every figure of which is zero (left by a move)."""
    found = set()
    for table, keys in ROLLUPS.items():
        rows = connection.execute(f"SELECT * FROM {table}").fetchall()
        found |= {(table, *row) for row in rows if any(row[keys:])}
    return found


class Story:
    """Plays random operations on the team's workspace, in time order, as the server would."""

    def __init__(self, team: Team) -> None:
        self.team = team
        self.when = START
        self.tickets: list[str] = []
        self.agents = [None, team.agent, team.other]
        self.groups = [None, team.tier1, team.billing]
        at(
            team.workspace,
            START,
            "sla.policy.create",
            {
                "name": "Normal",
                "priority": "normal",
                "first_reply_minutes": 90,
                "next_reply_minutes": 240,
                "resolution_minutes": 2880,
            },
        )

    def ticket(self, index: int) -> str | None:
        return self.tickets[index % len(self.tickets)] if self.tickets else None

    def play(self, op: tuple[Any, ...]) -> None:
        kind, later, *rest = op
        self.when += timedelta(minutes=later)
        ws, sam = self.team.workspace, self.team.agent
        try:
            if kind == "create":
                channel, group, agent = rest
                assignee = self.agents[agent % 3]
                args = {
                    "subject": "Help",
                    "body": "Please",
                    "requester": {"value": f"c{len(self.tickets) % 7}@example.com"},
                    "channel": channel,
                    "group_id": self.groups[group % 3],
                    "assignee_id": assignee.id if assignee else None,
                }
                self.tickets.append(str(at(ws, self.when, "ticket.create", args)["ticket_id"]))
                return
            ticket = self.ticket(rest[0])
            if ticket is None:
                return
            if kind == "reply":
                args = {"ticket_id": ticket, "body": "Answer", **({"status": "solved"} if rest[1] else {})}
                at(ws, self.when, "ticket.reply", args, sam)
            elif kind == "receive":
                at(ws, self.when, "ticket.receive", {"ticket_id": ticket, "body": "Still broken"})
            elif kind == "status":
                at(ws, self.when, "ticket.set_status", {"ticket_id": ticket, "status": rest[1]}, sam)
            elif kind == "assign":
                assignee = self.agents[rest[1] % 3]
                args = {"ticket_id": ticket, "assignee_id": assignee.id if assignee else None}
                at(ws, self.when, "ticket.assign", {**args, "group_id": self.groups[rest[2] % 3]}, self.team.admin)
            elif kind == "merge":
                target = self.ticket(rest[1])
                if target != ticket:
                    args = {"source_id": ticket, "target_id": target, "different_requesters": True}
                    at(ws, self.when, "ticket.merge", args, sam)
            elif kind == "time":
                args = {"ticket_id": ticket, "seconds": rest[1]}
                at(ws, self.when, "ticket.record_handle_time", args, self.agents[1 + rest[2] % 2])
            elif kind == "log":
                args = {"ticket_id": ticket, "seconds": 60 * rest[1]}
                at(ws, self.when, "ticket.log_time", args, self.agents[1 + rest[2] % 2])
            elif kind in ("correct", "unlog"):
                with ws.reading() as connection:
                    entries = [row[0] for row in connection.execute("SELECT id FROM time_entry ORDER BY id")]
                if entries:
                    entry = entries[rest[0] % len(entries)]
                    if kind == "correct":
                        at(ws, self.when, "time.correct", {"entry_id": entry, "seconds": 60 * rest[1]}, self.team.admin)
                    else:
                        at(ws, self.when, "time.delete", {"entry_id": entry}, self.team.admin)
            elif kind == "answer":
                self.answer(ticket, *rest[1:])
            elif kind == "erase":
                with ws.reading() as connection:
                    (customer,) = connection.execute(
                        "SELECT requester_id FROM ticket WHERE id = ?", (ticket,)
                    ).fetchone()
                at(ws, self.when, "customer.erase", {"customer_id": customer}, self.team.admin)
        except DomainError:
            pass  # a rule refused it (reply to a closed ticket, merge into a merged one): nothing written

    def answer(self, ticket: str, csat: str | None, ces: int | None, nps: int | None) -> None:
        """The customer answers the ticket's waiting survey (issued when it was solved), if any."""
        from supportdesk.domain.feedback import survey_token

        ws = self.team.workspace
        with ws.reading() as connection:
            waiting = connection.execute(
                "SELECT id FROM survey WHERE ticket_id = ? AND answered_at IS NULL", (ticket,)
            ).fetchone()
        if waiting is None or (csat is None and ces is None and nps is None):
            return
        with ws.engine.begin() as connection:
            token = survey_token(connection, waiting[0])
        at(ws, self.when, "survey.answer", {"token": token, "csat": csat, "ces": ces, "nps": nps}, self.team.admin)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    operations=st.lists(operation, min_size=1, max_size=40),
    windows=st.lists(window, min_size=1, max_size=3),
    after=st.integers(min_value=0, max_value=5 * 24 * 60),
)
def test_every_report_from_the_rollup_equals_the_slow_path(
    team: Team, clock: TestClock, operations: list[tuple[Any, ...]], windows: list[str], after: int
) -> None:
    # The workspace carries on from the previous example: histories only grow longer.
    story = getattr(team, "_story", None) or Story(team)
    team._story = story  # type: ignore[attr-defined]
    for op in operations:
        story.play(op)
    clock.freeze(story.when + timedelta(minutes=after, seconds=17))
    now = utcnow()
    with team.workspace.reading() as connection:
        for text in windows:
            since = since_from(text, now)
            for by in (None, *GROUPINGS):
                fast = build_report(connection, since=since, until=now, by=by)
                slow = build_report(connection, since=since, until=now, by=by, rollup=False)
                assert fast.rows == slow.rows, (text, by)
        kept = _rollup_rows(connection)
    with team.workspace.writing() as connection:
        rollup.rebuild(connection)
        assert _rollup_rows(connection) == kept


def test_whole_days_and_edges_add_up_to_the_period(team: Team, clock: TestClock) -> None:
    """A hand-made case: one ticket a day for ten days; a 5-day window starting at 07:30."""
    ws = team.workspace
    for day in range(10):
        created = at(
            ws,
            START + timedelta(days=day, hours=day % 3),
            "ticket.create",
            {"subject": "Help", "body": "Please", "requester": {"value": "a@example.com"}, "channel": "email"},
        )
        at(
            ws,
            START + timedelta(days=day, hours=5),
            "ticket.reply",
            {"ticket_id": created["ticket_id"], "body": "Done", "status": "solved"},
            team.agent,
        )
    clock.freeze(START + timedelta(days=10))
    with ws.reading() as connection:
        days = connection.execute(
            "SELECT count(DISTINCT day), sum(created), sum(solved) FROM report_day "
            "WHERE dimension = 'all' AND created > 0"
        ).fetchone()
        assert tuple(days) == (10, 10, 10)
        report = build_report(connection, since=since_from("5d", utcnow()), until=utcnow())
    (row,) = report.rows
    assert (row["created"], row["solved"]) == (5, 5)
    assert row["first_reply_mean_m"] == pytest.approx(row["first_reply_median_m"], abs=60.0)


def test_the_rollup_follows_a_reassignment_and_a_deleted_timing_row(team: Team) -> None:
    ws = team.workspace
    ticket = str(
        at(
            ws,
            START,
            "ticket.create",
            {"subject": "Help", "body": "Please", "requester": {"value": "a@example.com"}, "group_id": team.tier1},
        )["ticket_id"]
    )
    at(ws, START + timedelta(hours=1), "ticket.assign", {"ticket_id": ticket, "group_id": team.billing}, team.admin)
    with ws.reading() as connection:
        found = connection.execute("SELECT value, created FROM report_day WHERE dimension = 'group'")
        groups = {row[0]: row[1] for row in found}
    assert groups == {team.tier1: 0, team.billing: 1}
    with ws.writing() as connection:
        connection.execute("DELETE FROM ticket_timing WHERE ticket_id = ?", (ticket,))
        assert connection.execute("SELECT sum(created) FROM report_day").fetchone()[0] == 0


def _reports(connection: sqlite3.Connection, since: datetime, until: datetime) -> dict[Any, list[dict[str, Any]]]:
    """Every grouping's report from the rollups, checked equal to the slow path's on the way."""
    found = {}
    for by in (None, *GROUPINGS):
        fast = build_report(connection, since=since, until=until, by=by)
        assert fast.rows == build_report(connection, since=since, until=until, by=by, rollup=False).rows, by
        found[by] = fast.rows
    return found


def test_a_ticket_handled_on_several_days_counts_once_per_period(team: Team, clock: TestClock) -> None:
    """Handled tickets are distinct: a ticket handled on four days, by two agents, is one ticket
    over the period, one a day by day, and one per agent; a record added later for a day between
    two others relinks the chain (the rollups stay what a rebuild makes)."""
    ws = team.workspace
    monday = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)
    ticket = str(
        at(
            ws,
            monday,
            "ticket.create",
            {"subject": "Help", "body": "Please", "requester": {"value": "a@example.com"}, "group_id": team.tier1},
        )["ticket_id"]
    )
    for day, actor in ((0, team.agent), (1, team.agent), (1, team.agent), (4, team.agent), (2, team.admin)):
        args = {"ticket_id": ticket, "seconds": 600}
        at(ws, monday + timedelta(days=day, hours=1), "ticket.record_handle_time", args, actor)
    clock.freeze(monday + timedelta(days=6, hours=12))
    with ws.reading() as connection:
        since = monday - timedelta(hours=3)  # mid-Sunday: an edge, then whole days
        reports = _reports(connection, since, utcnow())
        (overall,) = reports[None]
        assert (overall["handle_h"], overall["handle_per_ticket_m"]) == (round(3000 / 3600, 1), 50.0)
        by_agent = {row["agent"]: row["handle_per_ticket_m"] for row in reports["agent"] if row["handle_h"]}
        assert by_agent == {"Sam Agent": 40.0, "Ada Admin": 10.0}
        handled_days = {row["day"]: row["handle_per_ticket_m"] for row in reports["day"] if row["handle_h"]}
        assert handled_days == {"2026-10-05": 10.0, "2026-10-06": 20.0, "2026-10-07": 10.0, "2026-10-09": 10.0}
        (week,) = [row for row in reports["week"] if row["handle_h"]]
        assert week["handle_per_ticket_m"] == 50.0
        # A period starting after the first handled day still counts the ticket once.
        (later,) = _reports(connection, monday + timedelta(days=1, hours=12), utcnow())[None]
        assert later["handle_per_ticket_m"] == 20.0
    at(
        ws,
        monday + timedelta(days=3, hours=2),
        "ticket.record_handle_time",
        {"ticket_id": ticket, "seconds": 60},
        team.agent,
    )
    with ws.reading() as connection:
        (overall,) = _reports(connection, since, utcnow())[None]
        assert overall["handle_per_ticket_m"] == 51.0
        links = connection.execute(
            "SELECT day, prev, tickets FROM report_handle_day WHERE dimension = 'agent' AND value = ? AND tickets <> 0 "
            "ORDER BY day",
            (team.agent.id,),
        ).fetchall()
        assert [tuple(row) for row in links] == [
            ("2026-10-05", "", 1),
            ("2026-10-06", "2026-10-05", 1),
            ("2026-10-08", "2026-10-06", 1),
            ("2026-10-09", "2026-10-08", 1),
        ]
        kept = _rollup_rows(connection)
    with ws.writing() as connection:  # what migration 0024 runs on a workspace that had none
        rollup_activity.execute_all(connection, rollup_activity.drop_statements("sqlite"))
        rollup_activity.execute_all(connection, rollup_activity.create_statements("sqlite"))
        assert _rollup_rows(connection) == kept


def test_answers_logged_and_handled_time_follow_a_reassignment(team: Team, clock: TestClock) -> None:
    """Survey answers go to the ticket's group, channel and assignee now; handle and logged time to
    its group and channel now (and to the agent who spent it): a reassignment moves them, and a
    deleted timing row takes them out of every grouping but overall and by day."""
    from supportdesk.domain.feedback import survey_token

    ws = team.workspace
    args = {
        "subject": "Help",
        "body": "Please",
        "requester": {"value": "a@example.com"},
        "group_id": team.tier1,
        "assignee_id": team.agent.id,
        "channel": "chat",
    }
    ticket = str(at(ws, START, "ticket.create", args)["ticket_id"])
    at(ws, START + timedelta(hours=1), "ticket.record_handle_time", {"ticket_id": ticket, "seconds": 900}, team.agent)
    at(ws, START + timedelta(hours=1), "ticket.log_time", {"ticket_id": ticket, "seconds": 1800}, team.agent)
    at(
        ws,
        START + timedelta(hours=2),
        "ticket.reply",
        {"ticket_id": ticket, "body": "Done", "status": "solved"},
        team.agent,
    )
    with ws.reading() as connection:
        (survey,) = connection.execute("SELECT id FROM survey WHERE ticket_id = ?", (ticket,)).fetchone()
    with ws.engine.begin() as connection:
        token = survey_token(connection, survey)
    at(ws, START + timedelta(days=1), "survey.answer", {"token": token, "csat": "good", "nps": 10}, team.admin)
    moved = {"ticket_id": ticket, "group_id": team.billing, "assignee_id": team.other.id}
    at(ws, START + timedelta(days=2), "ticket.assign", moved, team.admin)
    clock.freeze(START + timedelta(days=3))

    def figures(by: str) -> dict[Any, tuple[Any, ...]]:
        with ws.reading() as connection:
            rows = _reports(connection, START - timedelta(days=1), utcnow())[by]
        return {
            row[by]: (row["surveys"], row["handle_h"], row["logged_h"]) for row in rows if row["created"] is not None
        }

    assert figures("group") == {"Billing": (1, 0.2, 0.5)}
    assert figures("agent") == {"Bea Billing": (1, None, None), "Sam Agent": (0, 0.2, 0.5)}
    with ws.writing() as connection:
        connection.execute("UPDATE ticket_timing SET channel = 'web' WHERE ticket_id = ?", (ticket,))
    assert figures("channel") == {"web": (1, 0.2, 0.5)}
    with ws.writing() as connection:
        connection.execute("DELETE FROM ticket_timing WHERE ticket_id = ?", (ticket,))
        left = connection.execute(
            "SELECT dimension, sum(surveys), sum(logged_s) FROM report_activity_day GROUP BY 1 ORDER BY 1"
        ).fetchall()
        handled = connection.execute(
            "SELECT dimension, sum(tickets), sum(seconds) FROM report_handle_day GROUP BY 1 ORDER BY 1"
        ).fetchall()
    assert [tuple(row) for row in left] == [("agent", 0, 1800), ("all", 1, 1800), ("channel", 0, 0), ("group", 0, 0)]
    assert [tuple(row) for row in handled] == [("agent", 1, 900), ("all", 1, 900), ("channel", 0, 0), ("group", 0, 0)]


def test_a_bulk_load_drops_the_triggers_and_rebuilds(team: Team) -> None:
    from supportdesk.store.bulk import bulk_load

    ws = team.workspace
    args = {"subject": "Help", "body": "Please", "requester": {"value": "a@example.com"}}
    ticket = str(at(ws, START, "ticket.create", args)["ticket_id"])
    with ws.writing() as connection:
        with bulk_load(connection, ("ticket_timing", "handle_time", "survey")):
            assert not connection.execute("SELECT name FROM sqlite_master WHERE name LIKE 'report_day_a%'").fetchall()
            connection.execute(
                "INSERT INTO ticket_timing (ticket_id, created_at, channel, due_at, paused, sla_met, sla_missed, "
                "replies, next_reply_total_s, next_reply_count, reopens, handle_s, history, clocks) "
                "VALUES ('t1', '2026-10-02 10:00:00.000000', 'web', '9999-12-31 00:00:00.000000', "
                "0, 0, 0, 0, 0, 0, 0, 0, '[]', '[]')"
            )
            connection.execute(
                "INSERT INTO handle_time (id, ticket_id, agent_id, seconds, at) "
                "VALUES ('h1', ?, ?, 60, '2026-10-03 10:00:00.000000')",
                (ticket, team.agent.id),
            )
            connection.execute(
                "INSERT INTO survey (id, ticket_id, issued_at, answered_at, csat, comment) "
                "VALUES ('s1', ?, '2026-10-03 10:00:00.000000', '2026-10-04 10:00:00.000000', 'good', '')",
                (ticket,),
            )
        days = connection.execute("SELECT day, created FROM report_day WHERE dimension = 'all'")
        assert [tuple(row) for row in days] == [("2026-10-01", 1), ("2026-10-02", 1)]
        handled = connection.execute("SELECT day, value, prev, tickets, seconds FROM report_handle_day")
        assert {tuple(row) for row in handled} >= {("2026-10-03", "", "", 1, 60)}
        answered = connection.execute("SELECT dimension, day, surveys FROM report_activity_day WHERE csat_good = 1")
        assert {tuple(row) for row in answered} == {(d, "2026-10-04", 1) for d in ("all", "agent", "group", "channel")}
        names = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    assert set(rollup.TRIGGERS) | set(rollup_activity.TRIGGERS) <= names


def _server_team(database: Any) -> tuple[list[str], str]:
    """Two groups (Tier 1, Billing) and an admin, Sam, made by the server's own write path."""
    from supportdesk.domain.context import SYSTEM
    from supportdesk.server.apply import apply_as

    groups = [
        apply_as(database, SYSTEM, "group.create", {"name": name, "email": f"{name.lower()[:4]}@acme.test"})[0][
            "group_id"
        ]
        for name in ("Tier 1", "Billing")
    ]
    sam = apply_as(database, SYSTEM, "agent.create", {"name": "Sam", "email": "sam@acme.test", "role": "admin"})
    return groups, str(sam[0]["agent_id"])


@pytest.mark.integration
@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_server_database_keeps_the_rollup_through_its_write_path(kind: str, tmp_path: Path, clock: TestClock) -> None:
    """The same triggers on a team server's database (SQLite, or PostgreSQL's PL/pgSQL function):
    mutations applied by ``server.apply`` over several days — handle and logged time, survey
    answers, a reassignment, a merge — leave the rollups a rebuild makes."""
    from sqlalchemy import text

    from supportdesk.domain.context import SYSTEM, Actor, Role
    from supportdesk.domain.feedback import survey_token
    from supportdesk.server.apply import apply_as
    from supportdesk.server.db import open_database
    from tests.live import server_database

    clock.freeze(START)
    with server_database(kind, tmp_path) as url:
        database = open_database(url)
        try:
            (tier1, billing), sam_id = _server_team(database)
            sam = Actor(id=sam_id, name="Sam", role=Role.ADMIN)
            tickets = []
            for number in range(6):
                clock.advance(timedelta(hours=9))
                args = {
                    "subject": "Help",
                    "body": "Please",
                    "requester": {"value": f"c{number}@example.com"},
                    "group_id": tier1,
                    "channel": CHANNELS[number % 3],
                }
                tickets.append(apply_as(database, SYSTEM, "ticket.create", args)[0]["ticket_id"])
                clock.advance(timedelta(hours=2))
                apply_as(database, sam, "ticket.reply", {"ticket_id": tickets[-1], "body": "Done", "status": "solved"})
                for later in (0, 30):  # handled on the day, and again a day and a half later
                    clock.advance(timedelta(hours=later))
                    spent = {"ticket_id": tickets[-1], "seconds": 300}
                    apply_as(database, sam, "ticket.record_handle_time", spent)
                    apply_as(database, sam, "ticket.log_time", {**spent, "seconds": 600})
            with database.engine.begin() as connection:
                waiting = connection.execute(text("SELECT id FROM survey ORDER BY id")).scalars().all()
                tokens = [survey_token(connection, str(survey)) for survey in waiting[:3]]
            for token in tokens:
                apply_as(database, SYSTEM, "survey.answer", {"token": token, "csat": "good", "ces": 2, "nps": 9})
            clock.advance(timedelta(days=1))
            apply_as(database, SYSTEM, "ticket.receive", {"ticket_id": tickets[0], "body": "Broken again"})
            apply_as(
                database, sam, "ticket.assign", {"ticket_id": tickets[1], "group_id": billing, "assignee_id": None}
            )
            apply_as(
                database,
                sam,
                "ticket.merge",
                {"source_id": tickets[2], "target_id": tickets[3], "different_requesters": True},
            )
            with database.engine.begin() as connection:
                kept = _server_rollup_rows(connection)
                assert sum(row[4] for row in kept if row[:2] == (rollup.TABLE, "all")) == 6  # created
                surveys = [row[6] for row in kept if row[:2] == (rollup_activity.ACTIVITY_TABLE, "all")]
                assert sum(surveys) == 3
                handled = [row[5:] for row in kept if row[:2] == (rollup_activity.HANDLE_TABLE, "group")]
                assert len(handled) > 6 and sum(n for n, _s in handled) == 12
                for statement in rollup.all_fill_statements(connection.dialect.name):
                    connection.execute(text(statement))
                assert _server_rollup_rows(connection) == kept
        finally:
            database.dispose()


def _timing_rows(count: int, team: Team) -> list[tuple[Any, ...]]:
    """New timing rows over a few days, groups, agents and channels, some solved or done on
    other days than they were created: every side of the rollup, keys old and new."""
    rows = []
    for index in range(count):
        created = START + timedelta(hours=7 * index)
        solved = created + timedelta(hours=30) if index % 3 else None
        done = solved if index % 2 else None
        rows.append(
            (
                f"t{index:03d}",
                created.strftime("%Y-%m-%d %H:%M:%S.%f"),
                solved.strftime("%Y-%m-%d %H:%M:%S.%f") if solved else None,
                done.strftime("%Y-%m-%d %H:%M:%S.%f") if done else None,
                CHANNELS[index % 3],
                (None, team.tier1, team.billing)[index % 3],
                (None, team.agent.id, team.other.id)[index % 2],
                index % 2,  # sla_met
                index % 5 == 0,  # sla_missed
                (index * 60) if index % 4 else None,  # first_reply_s
                index % 3,  # replies
                index * 10,
                index % 4,
                (index * 600) if solved else None,  # resolution_s
                index % 7 == 0,  # reopens
            )
        )
    return rows


_TIMING_INSERT = (
    "INSERT INTO ticket_timing (ticket_id, created_at, solved_at, done_at, channel, group_id, assignee_id, "
    "sla_met, sla_missed, first_reply_s, replies, next_reply_total_s, next_reply_count, resolution_s, reopens, "
    "due_at, paused, handle_s, history, clocks) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '9999-12-31 00:00:00.000000', 0, 0, '[]', '[]')"
)


def test_new_timing_rows_summed_once_leave_the_rollup_their_trigger_leaves(team: Team, tmp_path: Path) -> None:
    """Many new timing rows inserted with the insert trigger paused and their figures added once
    after (an import's chunk) leave ``report_day`` as the trigger leaves it row by row: the same
    sums under the same keys, each key new to the table at the ``rowid`` the trigger gives it."""
    at(
        team.workspace,
        START,
        "ticket.create",
        {"subject": "Help", "body": "Please", "requester": {"value": "a@example.com"}, "group_id": team.tier1},
    )  # a row already there for some of the keys
    rows = _timing_rows(40, team)
    copies = {}
    for name in ("by row", "summed"):
        copies[name] = tmp_path / f"{name}.db"
        with closing(sqlite3.connect(team.workspace.db_path)) as source, closing(sqlite3.connect(copies[name])) as copy:
            source.backup(copy)
    with closing(sqlite3.connect(copies["by row"], isolation_level=None)) as connection:
        for start in (0, 25):
            connection.execute("BEGIN IMMEDIATE")
            connection.executemany(_TIMING_INSERT, rows[start : start + 25])
            connection.execute("COMMIT")
        by_row = connection.execute("SELECT rowid, * FROM report_day ORDER BY rowid").fetchall()
        triggers = connection.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name"
        ).fetchall()
    with closing(sqlite3.connect(copies["summed"], isolation_level=None)) as connection:
        for start in (0, 25):
            connection.execute("BEGIN IMMEDIATE")
            chunk = rows[start : start + 25]
            with rollup.summed_after_insert(connection, [row[0] for row in chunk]):
                assert not connection.execute("SELECT 1 FROM sqlite_master WHERE name = 'report_day_ai'").fetchall()
                connection.executemany(_TIMING_INSERT, chunk)
            connection.execute("COMMIT")
        summed = connection.execute("SELECT rowid, * FROM report_day ORDER BY rowid").fetchall()
        found = connection.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name")
        assert found.fetchall() == triggers
    assert len(by_row) > 40 and {row[1] for row in by_row} == set(rollup.DIMENSIONS)
    assert summed == by_row


def test_a_rolled_back_summed_insert_leaves_the_trigger_and_the_rollup(team: Team) -> None:
    ws = team.workspace
    with ws.reading() as connection:
        before = connection.execute("SELECT rowid, * FROM report_day").fetchall()
    with pytest.raises(sqlite3.IntegrityError), ws.writing() as connection:
        rows = _timing_rows(3, team)
        with rollup.summed_after_insert(connection, [row[0] for row in rows]):
            connection.executemany(_TIMING_INSERT, [*rows, rows[0]])  # a ticket twice: refused
    with ws.reading() as connection:
        assert connection.execute("SELECT rowid, * FROM report_day").fetchall() == before
        names = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    assert set(rollup.TRIGGERS) <= names


@pytest.mark.integration
@pytest.mark.parametrize("second", ["handle", "reassign"])
def test_concurrent_writes_of_one_tickets_rows_on_postgresql_leave_the_rollup_a_rebuild_makes(
    second: str, tmp_path: Path, clock: TestClock
) -> None:
    """Two transactions writing rows of the same ticket at once (two agents' pushes): each
    trigger computed the ticket's handled days, or moved its rows, from what its own snapshot
    saw, without the other's uncommitted rows — two first handled days on one day (the ticket
    counted twice), or a row added under a group the other had just moved the ticket from."""
    import threading

    from sqlalchemy import text

    from supportdesk.domain.context import SYSTEM
    from supportdesk.server.apply import apply_as
    from supportdesk.server.db import open_database
    from tests.live import server_database

    clock.freeze(START)
    with server_database("postgresql", tmp_path) as url:
        database = open_database(url)
        try:
            groups, sam_id = _server_team(database)
            args = {"subject": "Help", "body": "Please", "requester": {"value": "c@example.com"}, "group_id": groups[0]}
            ticket = apply_as(database, SYSTEM, "ticket.create", args)[0]["ticket_id"]
            insert = text(
                "INSERT INTO handle_time (id, ticket_id, agent_id, seconds, at) VALUES (:id, :t, :a, 60, :at)"
            )
            values = {"t": ticket, "a": sam_id, "at": utcnow()}
            with database.engine.connect() as first, database.engine.connect() as other:
                first.begin()
                first.execute(insert, {**values, "id": "h1"})
                other.begin()
                pid = other.execute(text("SELECT pg_backend_pid()")).scalar()
                failed: list[BaseException] = []

                def write_other() -> None:
                    try:
                        if second == "handle":
                            other.execute(insert, {**values, "id": "h2"})
                        else:
                            moved = "UPDATE ticket_timing SET group_id = :g WHERE ticket_id = :t"
                            other.execute(text(moved), {"g": groups[1], "t": ticket})
                    except BaseException as error:  # pragma: no cover - reported below
                        failed.append(error)

                thread = threading.Thread(target=write_other)
                thread.start()
                with database.engine.connect() as watch:  # until it is done or waits on a lock
                    waiting = "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = :pid"
                    while thread.is_alive() and not watch.execute(text(waiting), {"pid": pid}).scalar():
                        thread.join(0.01)
                first.commit()
                thread.join()
                assert not failed, failed
                other.commit()
            with database.engine.begin() as connection:
                kept = _server_rollup_rows(connection)
                for statement in rollup.all_fill_statements(connection.dialect.name):
                    connection.execute(text(statement))
                assert kept == _server_rollup_rows(connection)
        finally:
            database.dispose()
