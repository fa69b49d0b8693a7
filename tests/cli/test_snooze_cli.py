"""``tickets snooze`` / ``tickets unsnooze`` through the real entry point, and ``is:snoozed``."""

from __future__ import annotations

import json

from supportdesk.store.workspace import Workspace
from tests.cli.conftest import CLI
from tests.conftest import TestClock


def _one(ws: Workspace, sql: str, *params: object) -> object:
    with ws.reading() as connection:
        return connection.execute(sql, params).fetchone()[0]


def _listed(cli: CLI, query: str) -> set[int]:
    result = cli("tickets", "list", "--query", query, "--json")
    assert result.code == 0, result.stderr
    return {row["number"] for row in json.loads(result.stdout)}


def test_snooze_takes_the_ticket_off_the_worklists_until_then(cli: CLI, ws: Workspace, clock: TestClock) -> None:
    clock.freeze()
    number = _one(ws, "SELECT number FROM ticket WHERE status = 'open' ORDER BY number LIMIT 1")
    assert number in _listed(cli, "status<solved")
    done = cli("tickets", "snooze", str(number), "--until", "3d")
    assert done.code == 0, done.stderr
    assert done.stdout.startswith(f"snoozed #{number} until ")
    assert number not in _listed(cli, "status<solved")
    assert number in _listed(cli, "is:snoozed")
    shown = json.loads(cli("tickets", "show", str(number), "--json").stdout)
    assert shown["snoozed_until"] is not None
    assert "snoozed until" in cli("tickets", "show", str(number)).stdout
    again = cli("tickets", "unsnooze", str(number))
    assert again.code == 0 and again.stdout.strip() == f"#{number} is back in the worklists"
    assert number in _listed(cli, "status<solved")
    refused = cli("tickets", "unsnooze", str(number))
    assert refused.code == 2 and refused.stderr.count("\n") == 1 and "is not snoozed" in refused.stderr


def test_bad_times_and_tickets_are_one_line_errors(cli: CLI, ws: Workspace) -> None:
    number = _one(ws, "SELECT number FROM ticket WHERE status = 'open' ORDER BY number LIMIT 1")
    bad = cli("tickets", "snooze", str(number), "--until", "someday \x1b[2J")
    assert bad.code == 2 and bad.stderr.count("\n") == 1 and "is not a time to snooze until" in bad.stderr
    assert "\x1b" not in bad.stderr
    past = cli("tickets", "snooze", str(number), "--until", "2001-01-01")
    assert past.code == 2 and "in the future" in past.stderr
    solved = _one(ws, "SELECT number FROM ticket WHERE status = 'solved' ORDER BY number LIMIT 1")
    assert cli("tickets", "snooze", str(solved), "--until", "2h").code == 2
    assert cli("tickets", "snooze", "999999", "--until", "2h").code == 3
    assert cli("tickets", "snooze", str(number)).code == 2  # --until is required
