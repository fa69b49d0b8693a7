"""Snooze: out of the worklists until a time, woken by the time, by hand or by the customer."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from supportdesk.domain.errors import InvalidTransition, NotFound, PermissionDenied, ValidationFailed
from supportdesk.domain.when import parse_until
from supportdesk.store import reads
from supportdesk.store.query import QueryError, parse
from tests.conftest import Team, TestClock
from tests.domain.test_mutations import new_ticket, row, ticket

NOW = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)  # a Wednesday


def _ids(team: Team, query: str) -> set[str]:
    with team.workspace.reading() as connection:
        page = reads.queue_page(connection, reads.plan_queue(query, me=team.agent.id), limit=500)
    return {r.id for r in page.rows}


def _until(team: Team, ticket_id: object) -> datetime | None:
    value = ticket(team, ticket_id)["snoozed_until"]
    if value is None:
        return None
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def test_a_snoozed_ticket_leaves_the_worklists_until_its_time(team: Team, clock: TestClock) -> None:
    clock.freeze(NOW)
    created = new_ticket(team)
    tid = created["ticket_id"]
    assert tid in _ids(team, "status<solved")
    done = team.as_(team.agent, "ticket.snooze", {"ticket_id": tid, "until": NOW + timedelta(days=3)})
    assert done.result["changed"] == ["snoozed_by_id", "snoozed_until"]
    assert _until(team, tid) == NOW + timedelta(days=3)
    assert ticket(team, tid)["snoozed_by_id"] == team.agent.id
    assert tid not in _ids(team, "status<solved")  # a worklist
    assert tid not in _ids(team, "assignee:none status:new,open")
    assert tid in _ids(team, "status<solved is:snoozed")
    assert tid in _ids(team, "is:snoozed")
    assert tid not in _ids(team, "-is:snoozed")
    assert tid in _ids(team, "")  # every ticket: not a worklist
    assert tid in _ids(team, f"number:{ticket(team, tid)['number']}")
    clock.advance(timedelta(days=3, seconds=1))  # its time came: back without anyone writing
    assert tid in _ids(team, "status<solved")
    assert tid not in _ids(team, "is:snoozed")


def test_snooze_is_audited_and_goes_to_the_outbox(team: Team, clock: TestClock) -> None:
    clock.freeze(NOW)
    tid = new_ticket(team)["ticket_id"]
    team.as_(team.agent, "ticket.snooze", {"ticket_id": tid, "until": "2026-03-05T09:00:00+01:00"})
    audit = row(
        team,
        "SELECT mutation, actor_id, before, after FROM audit_event WHERE entity_id = ? AND field = 'snoozed_until'",
        tid,
    )
    assert audit["mutation"] == "ticket.snooze" and audit["actor_id"] == team.agent.id
    assert "2026-03-05T08:00:00" in audit["after"]
    assert row(team, "SELECT name FROM outbox ORDER BY id DESC LIMIT 1")["name"] == "ticket.snooze"


def test_unsnooze_brings_it_back_on_top(team: Team, clock: TestClock) -> None:
    clock.freeze(NOW)
    tid = new_ticket(team)["ticket_id"]
    team.as_(team.agent, "ticket.snooze", {"ticket_id": tid, "until": NOW + timedelta(hours=2)})
    updated = ticket(team, tid)["updated_at"]
    clock.advance(timedelta(minutes=5))
    team.as_(team.agent, "ticket.unsnooze", {"ticket_id": tid})
    assert _until(team, tid) is None and ticket(team, tid)["snoozed_by_id"] is None
    assert str(ticket(team, tid)["updated_at"]) > str(updated)
    with pytest.raises(ValidationFailed, match="is not snoozed"):
        team.as_(team.agent, "ticket.unsnooze", {"ticket_id": tid})


def test_the_consoles_wake_acts_once_and_only_when_due(team: Team, clock: TestClock) -> None:
    clock.freeze(NOW)
    tid = new_ticket(team)["ticket_id"]
    until = NOW + timedelta(hours=1)
    team.as_(team.agent, "ticket.snooze", {"ticket_id": tid, "until": until})
    early = team.as_(team.agent, "ticket.unsnooze", {"ticket_id": tid, "woke": True, "seen_until": until})
    assert early.result["changed"] == [] and _until(team, tid) == until  # not due yet
    clock.advance(timedelta(hours=1))
    other = team.as_(team.agent, "ticket.unsnooze", {"ticket_id": tid, "woke": True, "seen_until": NOW})
    assert other.result["changed"] == [] and _until(team, tid) == until  # another snooze than the one seen
    woke = team.as_(team.agent, "ticket.unsnooze", {"ticket_id": tid, "woke": True, "seen_until": until})
    assert woke.result["changed"] == ["snoozed_by_id", "snoozed_until"] and _until(team, tid) is None
    again = team.as_(team.agent, "ticket.unsnooze", {"ticket_id": tid, "woke": True, "seen_until": until})
    assert again.result["changed"] == []  # a second console, a replay: nothing more


def test_a_customer_message_wakes_it_at_once(team: Team, clock: TestClock) -> None:
    clock.freeze(NOW)
    tid = new_ticket(team)["ticket_id"]
    team.as_(team.agent, "ticket.snooze", {"ticket_id": tid, "until": NOW + timedelta(days=7)})
    team.as_(team.agent, "ticket.note", {"ticket_id": tid, "body": "our own note does not wake it"})
    assert _until(team, tid) is not None
    team.as_(team.agent, "ticket.receive", {"ticket_id": tid, "body": "Any news?"})
    assert _until(team, tid) is None
    assert tid in _ids(team, "status<solved")
    audit = row(team, "SELECT mutation FROM audit_event WHERE entity_id = ? AND field = 'snoozed_until' "
                "ORDER BY id DESC LIMIT 1", tid)  # fmt: skip
    assert audit["mutation"] == "ticket.receive"


def test_solving_ends_the_snooze(team: Team, clock: TestClock) -> None:
    clock.freeze(NOW)
    tid = new_ticket(team)["ticket_id"]
    team.as_(team.agent, "ticket.snooze", {"ticket_id": tid, "until": NOW + timedelta(days=1)})
    team.as_(team.agent, "ticket.set_status", {"ticket_id": tid, "status": "solved"})
    assert _until(team, tid) is None
    with pytest.raises(InvalidTransition, match="only open work"):
        team.as_(team.agent, "ticket.snooze", {"ticket_id": tid, "until": NOW + timedelta(days=1)})


@pytest.mark.parametrize(
    ("until", "error"),
    [
        (NOW - timedelta(minutes=1), "in the future"),
        (NOW, "in the future"),
        (NOW + timedelta(days=400), "at most a year"),
        ("2026-03-05T09:00:00", "with its zone"),
        ("next week", "until"),
        ("9999-99-99T00:00:00+00:00", "until"),
        (12, "in the future"),  # seconds since 1970
    ],
)
def test_bad_times_are_refused(team: Team, clock: TestClock, until: object, error: str) -> None:
    clock.freeze(NOW)
    tid = new_ticket(team)["ticket_id"]
    with pytest.raises(ValidationFailed, match=error):
        team.as_(team.agent, "ticket.snooze", {"ticket_id": tid, "until": until})
    assert _until(team, tid) is None


def test_other_groups_tickets_forged_fields_and_light_agents_are_refused(team: Team, clock: TestClock) -> None:
    clock.freeze(NOW)
    theirs = new_ticket(team, group_id=team.billing)["ticket_id"]
    later = NOW + timedelta(days=1)
    with pytest.raises(NotFound):
        team.as_(team.agent, "ticket.snooze", {"ticket_id": theirs, "until": later})
    mine = new_ticket(team)["ticket_id"]
    with pytest.raises(ValidationFailed):  # who snoozed is the actor, never an argument
        team.as_(team.agent, "ticket.snooze", {"ticket_id": mine, "until": later, "snoozed_by_id": team.admin.id})
    with pytest.raises(PermissionDenied):
        team.as_(team.light, "ticket.snooze", {"ticket_id": mine, "until": later})
    with pytest.raises(NotFound):
        team.as_(team.agent, "ticket.unsnooze", {"ticket_id": "x" * 5000})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3d", NOW + timedelta(days=3)),
        ("2h", NOW + timedelta(hours=2)),
        ("90m", NOW + timedelta(minutes=90)),
        ("tomorrow 9:00", datetime(2026, 3, 5, 9, 0, tzinfo=UTC)),
        ("tomorrow", datetime(2026, 3, 5, 9, 0, tzinfo=UTC)),
        ("mon", datetime(2026, 3, 9, 9, 0, tzinfo=UTC)),
        ("Wednesday 14:30", datetime(2026, 3, 11, 14, 30, tzinfo=UTC)),  # never today
        ("17:30", datetime(2026, 3, 4, 17, 30, tzinfo=UTC)),
        ("8am", datetime(2026, 3, 5, 8, 0, tzinfo=UTC)),  # past today: tomorrow's
        ("today 5pm", datetime(2026, 3, 4, 17, 0, tzinfo=UTC)),
        ("2026-12-24", datetime(2026, 12, 24, 9, 0, tzinfo=UTC)),
        ("2026-12-24 16:00", datetime(2026, 12, 24, 16, 0, tzinfo=UTC)),
        ("2026-03-05T09:00:00+01:00", datetime(2026, 3, 5, 8, 0, tzinfo=UTC)),
    ],
)
def test_times_as_agents_type_them(utc_zone: None, text: str, expected: datetime) -> None:
    assert parse_until(text, NOW) == expected


@pytest.fixture
def utc_zone(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Local times are the machine's: pin the zone, and give it back after."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize("text", ["", "soon", "tomorrow 25:00", "mo", "13pm", "x" * 100, "99999999999w", "\x1b[2J"])
def test_times_that_are_not_are_one_clear_error(text: str) -> None:
    with pytest.raises(ValidationFailed, match="is not a time to snooze until"):
        parse_until(text, NOW)


def test_is_snoozed_is_a_term_of_the_query_language() -> None:
    assert parse("is:snoozed").terms[0].values == ("snoozed",)
    with pytest.raises(QueryError, match="snoozed"):
        parse("is:snoozing")
