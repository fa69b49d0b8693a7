"""The manual time log: whole minutes within bounds, the agent's own entries, the ticket's group."""

from __future__ import annotations

from typing import Any

import pytest

from supportdesk.domain import write
from supportdesk.domain.context import SYSTEM
from supportdesk.domain.errors import NotFound, PermissionDenied, ValidationFailed
from supportdesk.domain.time_log import parse_minutes, shown, split_entry
from tests.conftest import Team
from tests.domain.test_rules import new_ticket


def _ticket_in(team: Team, group: str) -> str:
    ticket_id = new_ticket(team, "Printer", "It jams")
    write.apply(team.workspace, "ticket.assign", {"ticket_id": ticket_id, "group_id": group}, actor=SYSTEM)
    return ticket_id


def _entries(team: Team) -> list[tuple[Any, ...]]:
    with team.workspace.reading() as connection:
        return [tuple(r) for r in connection.execute("SELECT agent_id, seconds, note FROM time_entry ORDER BY at, id")]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("15m", 900),
        ("90m", 5400),
        ("1h30m", 5400),
        ("1h 30m", 5400),
        ("2h", 7200),
        ("1:15", 4500),
        ("12h", 43200),
        (" 45 min ", 2700),
    ],
)
def test_times_as_agents_type_them(text: str, seconds: int) -> None:
    assert parse_minutes(text) == seconds


@pytest.mark.parametrize(
    "text", ["", "15", "15x", "-5m", "0m", "0:00", "12h1m", "13h", "1:60", "1.5h", "9" * 40 + "h", "15m\x1b[2J", "1d"]
)
def test_times_that_do_not_read_or_are_out_of_bounds(text: str) -> None:
    with pytest.raises(ValidationFailed):
        parse_minutes(text)


def test_a_note_after_the_time() -> None:
    assert split_entry("1h 30m called the customer") == (5400, "called the customer")
    assert split_entry("20m") == (1200, "")
    assert (shown(5400), shown(2700), shown(7200)) == ("1h 30m", "45m", "2h")
    with pytest.raises(ValidationFailed):
        split_entry("called 20m")


def test_log_correct_and_delete_own_entries_only(team: Team) -> None:
    ticket_id = _ticket_in(team, team.tier1)
    logged = team.as_(team.agent, "ticket.log_time", {"ticket_id": ticket_id, "seconds": 900, "note": "call\x1b[2J"})
    entry = logged.result["entry_id"]
    ((agent, seconds, note),) = _entries(team)
    assert (agent, seconds, "\x1b" in note, note.startswith("call")) == (team.agent.id, 900, False, True)
    with pytest.raises(PermissionDenied):
        team.as_(team.light, "time.correct", {"entry_id": entry, "seconds": 60})
    team.as_(team.admin, "time.correct", {"entry_id": entry, "seconds": 1200})
    team.as_(team.agent, "time.correct", {"entry_id": entry, "note": "research"})
    assert [(s, n) for _a, s, n in _entries(team)] == [(1200, "research")]
    with pytest.raises(ValidationFailed):
        team.as_(team.agent, "time.correct", {"entry_id": entry})
    # the light agent logs time of their own on a ticket they see
    team.as_(team.light, "ticket.log_time", {"ticket_id": ticket_id, "seconds": 60})
    team.as_(team.agent, "time.delete", {"entry_id": entry})
    assert [(a, s) for a, s, _n in _entries(team)] == [(team.light.id, 60)]


def test_another_groups_ticket_and_its_entries_are_not_found(team: Team) -> None:
    billing = _ticket_in(team, team.billing)
    with pytest.raises(NotFound):
        team.as_(team.agent, "ticket.log_time", {"ticket_id": billing, "seconds": 600})
    entry = team.as_(team.other, "ticket.log_time", {"ticket_id": billing, "seconds": 600}).result["entry_id"]
    for name, args in (("time.correct", {"entry_id": entry, "seconds": 60}), ("time.delete", {"entry_id": entry})):
        with pytest.raises(NotFound):  # not "not yours": the ticket is not theirs to know about
            team.as_(team.agent, name, args)
    assert len(_entries(team)) == 1


@pytest.mark.parametrize("seconds", [0, 59, -600, 12 * 3600 + 60, 10**12, 90])
def test_the_mutation_refuses_seconds_out_of_bounds_or_not_whole_minutes(team: Team, seconds: int) -> None:
    ticket_id = _ticket_in(team, team.tier1)
    with pytest.raises(ValidationFailed):
        team.as_(team.agent, "ticket.log_time", {"ticket_id": ticket_id, "seconds": seconds})
    assert _entries(team) == []


def test_the_system_logs_no_time_and_an_entry_id_is_never_overwritten(team: Team) -> None:
    ticket_id = _ticket_in(team, team.tier1)
    with pytest.raises(ValidationFailed):
        write.apply(team.workspace, "ticket.log_time", {"ticket_id": ticket_id, "seconds": 600}, actor=SYSTEM)
    entry = team.as_(team.agent, "ticket.log_time", {"ticket_id": ticket_id, "seconds": 600}).result["entry_id"]
    with pytest.raises(Exception):  # noqa: B017  (a second insert of the key: refused, whatever the driver says)
        team.as_(team.admin, "ticket.log_time", {"ticket_id": ticket_id, "seconds": 60, "entry_id": entry})
    assert _entries(team) == [(team.agent.id, 600, "")]


def test_logging_time_is_not_a_change_of_the_ticket(team: Team) -> None:
    ticket_id = _ticket_in(team, team.tier1)
    with team.workspace.reading() as connection:
        before = connection.execute("SELECT updated_at FROM ticket WHERE id = ?", (ticket_id,)).fetchone()[0]
    team.as_(team.agent, "ticket.log_time", {"ticket_id": ticket_id, "seconds": 600})
    with team.workspace.reading() as connection:
        after = connection.execute("SELECT updated_at FROM ticket WHERE id = ?", (ticket_id,)).fetchone()[0]
        fired = connection.execute("SELECT count(*) FROM audit_event WHERE field = 'rule.fired'").fetchone()[0]
    assert (before, fired) == (after, 0)
