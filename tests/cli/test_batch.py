"""``supportdesk batch``: JSON Lines of CLI commands in one process, one JSON result per line (issue 19)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from supportdesk.store.workspace import Workspace
from tests.cli.conftest import CLI


def lines(*requests: Any) -> str:
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in requests)


def results(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines()]


def open_ticket(ws: Workspace, offset: int = 0) -> int:
    with ws.reading() as connection:
        return int(
            connection.execute(
                "SELECT number FROM ticket WHERE status = 'open' AND merged_into_id IS NULL "
                "ORDER BY number DESC LIMIT 1 OFFSET ?",
                (offset,),
            ).fetchone()[0]
        )


def count(ws: Workspace, sql: str, *params: object) -> int:
    with ws.reading() as connection:
        return int(connection.execute(sql, params).fetchone()[0])


def test_lines_run_in_order_with_the_clis_names_and_arguments(cli: CLI, ws: Workspace) -> None:
    number = open_ticket(ws)
    notes = count(ws, "SELECT count(*) FROM message WHERE public = 0")
    done = cli(
        "batch",
        stdin=lines(
            {"cmd": "tickets note", "args": {"ticket": str(number), "body": "checked the logs"}, "id": "n1"},
            {"cmd": "tickets reply", "args": {"ticket": number, "body": "Fixed now."}},
            {
                "cmd": "tickets create",
                "args": {"subject": "Batch", "requester": "new@example.com", "body": "hi", "tag": ["a", "b"]},
            },
            {"cmd": "tickets update", "args": {"ticket": [str(number)], "set": ["priority=urgent"], "yes": True}},
            {"cmd": "tickets show", "args": {"ticket": str(number), "json": True}},
        ),
    )
    out = results(done.stdout)
    assert done.code == 0, [(r["line"], r["ok"], r["exit"]) for r in out]
    assert [r["line"] for r in out] == [1, 2, 3, 4, 5] and all(r["ok"] and r["exit"] == 0 for r in out)
    assert out[0]["id"] == "n1"
    changed = out[3]["output"].startswith("changed 1 ticket")  # unless it was urgent already
    shown = out[4]["output"]
    assert shown["number"] == number and shown["priority"] == "urgent"
    assert count(ws, "SELECT count(*) FROM message WHERE public = 0") == notes + 1
    assert count(ws, "SELECT count(*) FROM ticket WHERE subject = 'Batch'") == 1
    with ws.reading() as connection:
        names = [r[0] for r in connection.execute("SELECT name FROM outbox ORDER BY id")]
    assert names == ["ticket.note", "ticket.reply", "ticket.create", *(["ticket.update"] if changed else [])]


def test_bad_lines_are_json_errors_with_exit_codes_and_the_rest_still_run(cli: CLI, ws: Workspace) -> None:
    number = open_ticket(ws)
    done = cli(
        "batch",
        stdin=lines(
            "{not json",
            "[1, 2]",
            {"cmd": "tickets explode"},
            {"cmd": "tickets"},
            {"cmd": "demo", "args": {"tickets": 5}},
            {"cmd": "batch"},
            {"cmd": "config set", "args": {}},
            {"cmd": "tickets note", "args": {"ticket": "999999", "body": "x"}},
            {"cmd": "tickets note", "args": {"ticket": str(number), "bogus": 1}},
            {"cmd": "tickets note", "args": {"ticket": str(number), "body": {"nested": "object"}}},
            {"cmd": "tickets note", "args": {"ticket": str(number)}},  # no body: not the batch's stdin
            {"cmd": "tickets list", "args": {"query": "status:"}},
            {"cmd": "tickets note", "args": {"ticket": str(number), "body": "still runs"}},
            {"cmd": "tickets note", "args": "body"},
            {"cmd": "tickets note", "extra": 1},
        ),
    )
    assert done.code == 1  # some failed
    out = results(done.stdout)
    assert len(out) == 15 and "Traceback" not in done.stdout + done.stderr
    by_line = {r["line"]: r for r in out}
    for line in (1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 14, 15):
        assert by_line[line]["ok"] is False and by_line[line]["exit"] == 2, by_line[line]
        assert by_line[line]["error"]["kind"] == "usage" and by_line[line]["error"]["message"]
    assert by_line[8]["exit"] == 3 and by_line[8]["error"]["kind"] == "not_found"
    assert "not run in a batch" in by_line[5]["error"]["message"]
    assert by_line[13]["ok"] is True
    assert count(ws, "SELECT count(*) FROM message WHERE body = 'still runs'") == 1


def test_stop_on_error_stops_and_dry_run_changes_nothing(cli: CLI, ws: Workspace) -> None:
    number = open_ticket(ws)
    stopped = cli(
        "batch",
        "--stop-on-error",
        stdin=lines(
            {"cmd": "tickets note", "args": {"ticket": str(number), "body": "first"}},
            {"cmd": "tickets note", "args": {"ticket": "999999", "body": "x"}},
            {"cmd": "tickets note", "args": {"ticket": str(number), "body": "never"}},
        ),
    )
    assert stopped.code == 1 and len(results(stopped.stdout)) == 2
    assert count(ws, "SELECT count(*) FROM message WHERE body = 'never'") == 0
    before = (count(ws, "SELECT count(*) FROM message"), count(ws, "SELECT count(*) FROM outbox"))
    rehearsed = cli(
        "batch",
        "--dry-run",
        stdin=lines(
            {"cmd": "tickets note", "args": {"ticket": str(number), "body": "rehearsed"}},
            {"cmd": "tickets update", "args": {"ticket": [str(number)], "set": ["status=solved"], "yes": True}},
            {"cmd": "tickets create", "args": {"subject": "Dry", "requester": "d@example.com", "body": "x"}},
        ),
    )
    assert rehearsed.code == 0 and all(r["ok"] for r in results(rehearsed.stdout))
    assert (count(ws, "SELECT count(*) FROM message"), count(ws, "SELECT count(*) FROM outbox")) == before
    assert count(ws, "SELECT count(*) FROM ticket WHERE number = ? AND status = 'solved'", number) == 0


def test_a_huge_line_is_refused_unread_and_the_next_runs(cli: CLI, ws: Workspace, tmp_path: Path) -> None:
    number = open_ticket(ws)
    path = tmp_path / "batch.jsonl"
    huge = json.dumps({"cmd": "tickets note", "args": {"ticket": str(number), "body": "x" * 3_000_000}})
    path.write_text(lines(huge, {"cmd": "tickets note", "args": {"ticket": str(number), "body": "after the huge one"}}))
    done = cli("batch", str(path), "--max-line", "1048576")
    out = results(done.stdout)
    assert done.code == 1 and len(out) == 2
    assert out[0]["exit"] == 2 and "longer than 1,048,576 bytes" in out[0]["error"]["message"]
    assert out[1]["ok"] is True
    assert count(ws, "SELECT count(*) FROM message WHERE length(body) > 1000000") == 0
    missing = cli("batch", str(tmp_path / "nope.jsonl"))
    assert missing.code == 2 and missing.stdout == "" and "nope.jsonl" in missing.stderr


def test_another_groups_tickets_are_not_found_and_a_light_agent_may_only_note(cli: CLI, ws: Workspace) -> None:
    with ws.reading() as connection:
        agent, group = connection.execute(
            "SELECT a.id, ag.group_id FROM agent a JOIN agent_group ag ON ag.agent_id = a.id "
            "WHERE a.role = 'agent' ORDER BY a.email LIMIT 1"
        ).fetchone()
        other = connection.execute(
            "SELECT number FROM ticket WHERE group_id IS NOT NULL AND group_id != ? AND (assignee_id IS NULL "
            "OR assignee_id != ?) AND status = 'open' ORDER BY number LIMIT 1",
            (group, agent),
        ).fetchone()[0]
        light = connection.execute("SELECT id FROM agent WHERE role = 'light_agent' LIMIT 1").fetchone()[0]
    ws.set_setting("me", agent)
    done = cli(
        "batch",
        stdin=lines(
            {"cmd": "tickets reply", "args": {"ticket": str(other), "body": "not mine"}},
            {"cmd": "tickets note", "args": {"ticket": str(other), "body": "not mine"}},
        ),
    )
    out = results(done.stdout)
    assert done.code == 1 and [r["exit"] for r in out] == [3, 3]
    assert count(ws, "SELECT count(*) FROM message WHERE body = 'not mine'") == 0
    ws.set_setting("me", light)
    number = open_ticket(ws)
    done = cli("batch", stdin=lines({"cmd": "tickets reply", "args": {"ticket": str(number), "body": "public"}}))
    (out_light,) = results(done.stdout)
    assert out_light["exit"] == 4 and "light agent" in out_light["error"]["message"]


def test_customer_text_in_results_is_json_escaped_not_terminal_control(cli: CLI, ws: Workspace) -> None:
    done = cli(
        "batch",
        stdin=lines(
            {
                "cmd": "tickets create",
                "args": {"subject": "\x1b]52;c;aGk=\x07[bold]x", "requester": "m@example.com", "body": "\x1b[2J hi"},
            },
            {"cmd": "tickets list", "args": {"query": "requester:m@example.com", "json": True}},
        ),
    )
    assert done.code == 0 and "\x1b" not in done.stdout
    listed = results(done.stdout)[1]["output"]
    assert listed and "[bold]x" in listed[0]["subject"]
