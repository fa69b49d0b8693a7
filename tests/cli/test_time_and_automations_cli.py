"""``tickets time`` and ``rules run-automations`` / ``enable`` / ``disable`` through the real entry point."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from supportdesk.store.workspace import Workspace
from tests.cli.conftest import CLI
from tests.conftest import TestClock


def _one(ws: Workspace, sql: str, *params: object) -> object:
    with ws.reading() as connection:
        return connection.execute(sql, params).fetchone()[0]


def _open_number(ws: Workspace) -> int:
    return int(str(_one(ws, "SELECT number FROM ticket WHERE status = 'open' ORDER BY number LIMIT 1")))


def test_log_list_correct_and_delete_time(cli: CLI, ws: Workspace) -> None:
    number = _open_number(ws)
    logged = cli("tickets", "time", str(number), "15m", "--note", "call with the customer")
    assert logged.code == 0, logged.stderr
    assert logged.stdout.strip() == f"logged 15m on #{number}"
    assert cli("tickets", "time", str(number), "1h30m").code == 0
    listing = json.loads(cli("tickets", "time", str(number), "--list", "--json").stdout)
    assert [(e["position"], e["minutes"], e["note"]) for e in listing["entries"]] == [
        (1, 15, "call with the customer"),
        (2, 90, ""),
    ]
    assert listing["logged_seconds"] == 105 * 60
    assert listing["total_seconds"] == listing["logged_seconds"] + listing["handle_seconds"]
    plain = cli("tickets", "time", str(number)).stdout
    assert "call with the customer" in plain and f"#{number}: logged 1h 45m" in plain
    fixed = cli("tickets", "time", str(number), "--correct", "2", "20m", "--note", "research")
    assert fixed.code == 0 and fixed.stdout.strip() == f"corrected entry 2 of #{number}: 20m"
    gone = cli("tickets", "time", str(number), "--delete", "1")
    assert gone.code == 0, gone.stderr
    after = json.loads(cli("tickets", "time", str(number), "--json").stdout)
    assert [(e["minutes"], e["note"]) for e in after["entries"]] == [(20, "research")]
    history = json.loads(cli("tickets", "history", str(number), "--json").stdout)
    assert [c["field"] for c in history if c["field"].startswith("time.")] == [
        "time.logged",
        "time.logged",
        "time.corrected",
        "time.deleted",
    ]


@pytest.mark.parametrize(
    ("spent", "says"),
    [
        ("15x", "is not a time to log"),
        ("-5m", "is not a time to log"),
        ("0m", "at least one minute"),
        ("13h", "at most 12h"),
        ("99999999h", "is not a time to log"),
        ("1:75", "is not a time to log"),
        ("\x1b[2J15m", "is not a time to log"),
        ("", "is not a time to log"),
    ],
)
def test_malformed_negative_and_huge_times_are_one_line_errors(cli: CLI, ws: Workspace, spent: str, says: str) -> None:
    number = _open_number(ws)
    bad = cli("tickets", "time", str(number), "--", spent)  # "--": a leading "-" is the time, not an option
    assert bad.code == 2, bad.stdout
    assert bad.stderr.count("\n") == 1 and says in bad.stderr and "\x1b" not in bad.stderr
    assert _one(ws, "SELECT count(*) FROM time_entry") == 0


def test_time_entries_that_are_not_there_or_not_mine(cli: CLI, ws: Workspace) -> None:
    number = _open_number(ws)
    assert cli("tickets", "time", "999999", "15m").code == 3
    assert cli("tickets", "time", str(number), "--delete", "7").code == 3
    assert cli("tickets", "time", str(number), "--correct", "1", "--delete", "1").code == 2
    assert cli("tickets", "time", str(number), "--note", "no time").code == 2
    assert cli("tickets", "time", str(number), "15m").code == 0
    # another agent (not an admin) may not change the admin's entry, and sees no other group's ticket
    agent, group = (
        _one(ws, "SELECT a.id FROM agent a JOIN agent_group g ON g.agent_id = a.id WHERE a.role = 'agent' LIMIT 1"),
        None,
    )
    group = _one(ws, "SELECT group_id FROM agent_group WHERE agent_id = ?", agent)
    ws.set_setting("me", str(agent))
    refused = cli("tickets", "time", str(number), "--delete", "1")
    ticket_group = _one(ws, "SELECT group_id FROM ticket WHERE number = ?", number)
    assert refused.code in (3, 4) and refused.stderr.count("\n") == 1
    if ticket_group == group:
        assert "only the agent who logged time" in refused.stderr
    elsewhere = _one(
        ws,
        "SELECT number FROM ticket WHERE group_id IS NOT NULL AND group_id <> ? "
        "AND (assignee_id IS NULL OR assignee_id <> ?) LIMIT 1",
        group,
        agent,
    )
    hidden = cli("tickets", "time", str(elsewhere), "15m")
    assert hidden.code == 3 and "no ticket" in hidden.stderr
    assert _one(ws, "SELECT count(*) FROM time_entry") == 1


AUTOMATION = """\
- name: Close solved tickets
  when: [scheduled]
  conditions:
    query: status:solved updated>4d
  actions:
    - set_status: closed
"""


def test_run_automations_now_with_a_dry_run_first(cli: CLI, ws: Workspace, tmp_path: Path, clock: TestClock) -> None:
    path = tmp_path / "automations.yaml"
    path.write_text(AUTOMATION)
    imported = cli("rules", "import", str(path))
    assert imported.code == 0, imported.stderr
    listed = json.loads(cli("rules", "list", "--json").stdout)
    assert [r["when"] for r in listed if r["name"] == "Close solved tickets"] == [["scheduled"]]
    clock.advance(timedelta(days=400))  # every solved demo ticket has waited long enough
    solved = _one(ws, "SELECT count(*) FROM ticket WHERE status = 'solved'")
    assert isinstance(solved, int) and solved > 0
    preview = cli("rules", "run-automations", "--dry-run")
    assert preview.code == 0, preview.stderr
    assert preview.stdout.startswith(f"Close solved tickets: would fire on {min(solved, 200)} ticket(s)")
    assert _one(ws, "SELECT count(*) FROM ticket WHERE status = 'solved'") == solved
    first = json.loads(cli("rules", "run-automations", "--json").stdout)
    assert len(first[0]["fired"]) == min(solved, 200)
    while _one(ws, "SELECT count(*) FROM ticket WHERE status = 'solved'"):
        assert json.loads(cli("rules", "run-automations", "--json").stdout)[0]["fired"]
    assert json.loads(cli("rules", "run-automations", "Close solved tickets", "--json").stdout)[0]["fired"] == []
    assert cli("rules", "disable", "Close solved tickets").stdout.strip() == "disabled: Close solved tickets"
    assert cli("rules", "run-automations").stdout.strip().startswith("no active automations")
    assert cli("rules", "enable", "close solved tickets").code == 0


def test_run_automations_refuses_what_is_not_an_automation(cli: CLI, ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(AUTOMATION + "- name: Tag refunds\n  when: [created]\n  actions:\n    - add_tags: [refund]\n")
    assert cli("rules", "import", str(path)).code == 0
    refused = cli("rules", "run-automations", "Tag refunds")
    assert refused.code == 2 and "is not an automation" in refused.stderr
    assert cli("rules", "run-automations", "no such rule").code == 3
    agent = _one(ws, "SELECT id FROM agent WHERE role = 'agent' LIMIT 1")
    ws.set_setting("me", str(agent))
    for args in (("disable", "Close solved tickets"), ("run-automations",)):
        denied = cli("rules", *args)
        assert denied.code == 4 and denied.stderr.count("\n") == 1, denied
