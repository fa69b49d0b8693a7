"""``supportdesk report``, ``rules`` and ``sla``: formats, round trips and one-line errors."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path

import pytest

from supportdesk.domain.metrics import FIELDS
from supportdesk.store.sla import NO_DEADLINE_DB
from supportdesk.store.workspace import DB_NAME, Workspace
from tests.cli.helpers import supportdesk

SINCE = "2026-01-01"


@pytest.fixture
def copy(demo_workspace: Workspace, tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    source = demo_workspace.connect()
    target = sqlite3.connect(root / DB_NAME)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()
    (root / "attachments").mkdir()
    return root


def one_line_error(result: object) -> None:
    stderr = result.stderr  # type: ignore[attr-defined]
    assert stderr.startswith("supportdesk: error:") and stderr.count("\n") == 1, stderr


def test_report_json_covers_every_ticket(demo_workspace: Workspace) -> None:
    result = supportdesk("report", "--since", SINCE, "--json", workspace=demo_workspace.root)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    (row,) = document["rows"]
    assert set(row) == {"scope", *FIELDS}
    with demo_workspace.reading() as connection:
        total = connection.execute("SELECT count(*) FROM ticket").fetchone()[0]
        unsolved = connection.execute(
            "SELECT count(*) FROM ticket WHERE status IN ('new', 'open', 'pending', 'on_hold')"
        ).fetchone()[0]
    assert (row["created"], row["backlog"]) == (total, unsolved)
    assert 0 < row["sla_attainment_pct"] < 100 and 0 < row["csat_pct"] < 100 and row["surveys"] > 0


def test_report_by_channel_as_csv_adds_up(demo_workspace: Workspace) -> None:
    result = supportdesk("report", "--since", SINCE, "--by", "channel", "--csv", workspace=demo_workspace.root)
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert {r["channel"] for r in rows} == {"email", "chat", "web", "phone", "social"}
    overall = json.loads(supportdesk("report", "--since", SINCE, "--json", workspace=demo_workspace.root).stdout)
    assert sum(int(r["created"]) for r in rows) == overall["rows"][0]["created"]


def test_report_by_day_is_in_order_and_ends_with_todays_backlog(demo_workspace: Workspace) -> None:
    result = supportdesk(
        "report", "--since", SINCE, "--by", "day", "--plain", "--fields", "day,created,backlog",
        workspace=demo_workspace.root,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = [line.split("\t") for line in result.stdout.splitlines()]
    assert lines[0] == ["day", "created", "backlog"]
    days = [line[0] for line in lines[1:]]
    assert days == sorted(days) and len(days) > 30
    overall = json.loads(supportdesk("report", "--since", SINCE, "--json", workspace=demo_workspace.root).stdout)
    assert int(lines[-1][2]) == overall["rows"][0]["backlog"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--by", "moon"], "cannot group by 'moon'"),
        (["--since", "lately"], "not a period"),
        (["--fields", "created,vibes"], "unknown field 'vibes'"),
        (["--json", "--csv"], "choose one of"),
        (["--db", "server.db"], "--db goes with rebuild"),
    ],
)
def test_report_errors_are_one_line(demo_workspace: Workspace, args: list[str], message: str) -> None:
    result = supportdesk("report", *args, workspace=demo_workspace.root)
    assert result.returncode == 2
    one_line_error(result)
    assert message in result.stderr


def test_report_rebuild_recomputes_the_rollup_a_report_reads(copy: Path) -> None:
    before = supportdesk("report", "--since", SINCE, "--by", "agent", "--json", workspace=copy)
    with sqlite3.connect(copy / DB_NAME) as connection:
        connection.execute("UPDATE report_day SET created = created + 5")
        connection.execute("UPDATE report_activity_day SET surveys = surveys + 5, logged_s = logged_s + 3600")
        connection.execute("UPDATE report_handle_day SET seconds = seconds + 3600")
    spoiled = supportdesk("report", "--since", SINCE, "--by", "agent", "--json", workspace=copy)
    assert json.loads(spoiled.stdout)["rows"] != json.loads(before.stdout)["rows"]
    rebuilt = supportdesk("report", "rebuild", workspace=copy)
    assert rebuilt.returncode == 0 and rebuilt.stdout.startswith("rebuilt the report rollup:"), rebuilt.stderr
    after = supportdesk("report", "--since", SINCE, "--by", "agent", "--json", workspace=copy)
    assert json.loads(after.stdout)["rows"] == json.loads(before.stdout)["rows"]


def test_rules_export_edit_import_round_trip(copy: Path, tmp_path: Path) -> None:
    exported = supportdesk("rules", "export", workspace=copy)
    assert exported.returncode == 0, exported.stderr
    assert "Refunds go to Billing" in exported.stdout
    edited = exported.stdout.replace("position: 10", "position: 99") + (
        "- name: Spam is closed politely\n"
        "  when: [created]\n"
        "  conditions:\n"
        "    words: [casino, lottery]\n"
        "  actions:\n"
        "  - add_tags: [spam]\n"
    )
    path = tmp_path / "rules.yaml"
    path.write_text(edited)
    imported = supportdesk("rules", "import", str(path), workspace=copy)
    assert imported.returncode == 0, imported.stderr
    assert "created: Spam is closed politely" in imported.stdout
    assert "updated: Refunds go to Billing" in imported.stdout
    listed = json.loads(supportdesk("rules", "list", "--json", workspace=copy).stdout)
    names = [r["name"] for r in listed]  # in the order they run: positions 0 … 99
    assert (names[0], names[-1], len(names)) == ("Spam is closed politely", "Refunds go to Billing", 6)
    shown = supportdesk("rules", "show", "spam is closed politely", workspace=copy)
    assert "- casino" in shown.stdout and "add_tags" in shown.stdout
    deleted = supportdesk("rules", "delete", "Spam is closed politely", workspace=copy)
    assert deleted.returncode == 0 and "deleted" in deleted.stdout
    missing = supportdesk("rules", "show", "Spam is closed politely", workspace=copy)
    assert missing.returncode == 3
    one_line_error(missing)


def test_rules_import_refuses_bad_files_with_one_line(copy: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("- name: x\n  actions: [\n")
    result = supportdesk("rules", "import", str(broken), workspace=copy)
    assert result.returncode == 2
    one_line_error(result)
    assert "line" in result.stderr
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text("- name: Colours\n  conditions: {colour: red}\n  actions: [{add_tags: x}]\n")
    result = supportdesk("rules", "import", str(wrong), workspace=copy)
    assert result.returncode == 2
    one_line_error(result)
    assert "'colour' is not a condition" in result.stderr
    result = supportdesk("rules", "import", str(tmp_path / "absent.yaml"), workspace=copy)
    assert result.returncode == 3


def test_sla_list_show_import_and_rebuild(copy: Path, tmp_path: Path) -> None:
    listed = json.loads(supportdesk("sla", "list", "--json", workspace=copy).stdout)
    assert {p["priority"] for p in listed["policies"]} == {"urgent", "high", "normal", "low"}
    assert listed["calendars"][0]["timezone"] == "Europe/London"
    with Workspace.open(copy).reading() as connection:
        number = connection.execute(
            "SELECT t.number FROM ticket t JOIN ticket_timing s ON s.ticket_id = t.id "
            "WHERE t.status = 'open' AND s.policy_id IS NOT NULL LIMIT 1"
        ).fetchone()[0]
    clocks = json.loads(supportdesk("sla", "show", str(number), "--json", workspace=copy).stdout)
    assert {c["metric"] for c in clocks} >= {"resolution"}
    assert all(c["state"] in ("running", "paused", "met", "missed") for c in clocks)

    # the demo's clocks are exactly what the audit trail says
    with Workspace.open(copy).reading() as connection:
        before = connection.execute("SELECT * FROM ticket_timing ORDER BY ticket_id").fetchall()
    rebuilt = supportdesk("sla", "rebuild", workspace=copy)
    assert rebuilt.returncode == 0 and "rebuilt the clocks of" in rebuilt.stdout
    with Workspace.open(copy).reading() as connection:
        after_rows = connection.execute("SELECT * FROM ticket_timing ORDER BY ticket_id").fetchall()
    assert [tuple(r) for r in after_rows] == [tuple(r) for r in before]

    exported = supportdesk("sla", "export", workspace=copy).stdout
    path = tmp_path / "sla.yaml"
    path.write_text(exported.replace("first_reply_minutes: 30", "first_reply_minutes: 20"))
    imported = supportdesk("sla", "import", str(path), workspace=copy)
    assert imported.returncode == 0, imported.stderr
    after = json.loads(supportdesk("sla", "list", "--json", workspace=copy).stdout)
    urgent = next(p for p in after["policies"] if p["priority"] == "urgent")
    assert urgent["first_reply_minutes"] == 20


def test_the_queue_sorts_by_time_to_breach_from_the_cli(demo_workspace: Workspace) -> None:
    result = supportdesk(
        "tickets",
        "list",
        "-q",
        "status<solved sla:active",
        "--sort",
        "sla-asc",
        "--json",
        workspace=demo_workspace.root,
    )
    assert result.returncode == 0, result.stderr
    numbers = [t["number"] for t in json.loads(result.stdout)]
    with demo_workspace.reading() as connection:
        expected = [
            r[0]
            for r in connection.execute(
                "SELECT t.number FROM ticket t JOIN ticket_timing s ON s.ticket_id = t.id "
                "WHERE t.status IN ('new', 'open', 'pending', 'on_hold') AND s.due_at < ? "
                "ORDER BY s.due_at, s.ticket_id",
                (NO_DEADLINE_DB,),
            )
        ]
    assert numbers == expected and numbers
