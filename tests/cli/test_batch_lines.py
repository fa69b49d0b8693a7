"""``supportdesk batch`` keeps work between lines (issue 19): the command tree and each command's
option names, one stdout/stderr capture, the engine and its configuration cache. These tests hold
it to the semantics of one command line per line: a line sees what the lines before it changed,
nothing a line printed or failed with leaks into the next, and hostile lines are refused one by
one without ending the batch."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from supportdesk.store.workspace import Workspace
from tests.cli.conftest import CLI
from tests.cli.test_batch import count, lines, open_ticket, results

URGENT_POLICY = "Urgent: round the clock"


def first_reply_target(out: dict[str, Any]) -> int:
    (clock,) = [view for view in out["output"] if view["metric"] == "first_reply"]
    return int(clock["target_minutes"])


def open_ticket_of(ws: Workspace, urgent: bool) -> int:
    with ws.reading() as connection:
        return int(
            connection.execute(
                "SELECT number FROM ticket WHERE status = 'open' AND merged_into_id IS NULL "
                f"AND priority {'=' if urgent else '!='} 'urgent' ORDER BY number DESC LIMIT 1"
            ).fetchone()[0]
        )


def test_a_line_that_changes_an_sla_policy_is_seen_by_the_next_line(cli: CLI, ws: Workspace, tmp_path: Path) -> None:
    """The batch keeps the SLA policy book between lines (domain.config_cache on its one engine):
    a line that changes a policy must not leave the next line computing clocks from the old one."""
    urgent, other = open_ticket_of(ws, urgent=True), open_ticket_of(ws, urgent=False)
    policy = tmp_path / "sla.yaml"
    policy.write_text(
        f"policies:\n- name: '{URGENT_POLICY}'\n  priority: urgent\n  first_reply_minutes: 7\n"
        "  next_reply_minutes: 60\n  resolution_minutes: 480\n"
    )
    done = cli(
        "batch",
        stdin=lines(
            {"cmd": "tickets note", "args": {"ticket": str(urgent), "body": "reads the policy book"}},
            {"cmd": "sla show", "args": {"ticket": str(urgent), "json": True}},
            {"cmd": "sla import", "args": {"file": str(policy)}},
            {"cmd": "sla show", "args": {"ticket": str(urgent), "json": True}},
            {"cmd": "tickets update", "args": {"ticket": [str(other)], "set": ["priority=urgent"], "yes": True}},
            {"cmd": "sla show", "args": {"ticket": str(other), "json": True}},
        ),
    )
    out = results(done.stdout)
    assert done.code == 0, out
    assert first_reply_target(out[1]) == 30  # the demo's policy, read (and kept) by line 1
    assert out[2]["output"].startswith("updated policy")
    assert first_reply_target(out[3]) == 7  # line 3 retimed the open urgent tickets with its policy
    assert out[4]["output"] == "changed 1 ticket\n"
    assert first_reply_target(out[5]) == 7  # line 5 computed the clocks from line 3's policy


def test_what_a_line_prints_or_fails_with_stays_on_its_own_result(cli: CLI, ws: Workspace) -> None:
    first, second = open_ticket(ws, 0), open_ticket(ws, 1)
    done = cli(
        "batch",
        stdin=lines(
            {"cmd": "tickets show", "args": {"ticket": str(first), "json": True}},
            {"cmd": "tickets note", "args": {"ticket": "999999", "body": "x"}},
            {"cmd": "tickets note", "args": {"ticket": str(second), "body": "clean"}},
            {"cmd": "tickets show", "args": {"ticket": str(second), "json": True}},
            {"cmd": "tickets note", "args": {"ticket": str(second), "body_file": "-"}},  # the batch's stdin: empty
            {"cmd": "tickets note", "args": {"ticket": str(second), "body": "after the stdin line"}},
        ),
    )
    out = results(done.stdout)
    assert [r["ok"] for r in out] == [True, False, True, True, False, True]
    assert out[0]["output"]["number"] == first and out[3]["output"]["number"] == second
    assert "output" not in out[1] and out[1]["error"]["message"] == "no ticket 999999"
    assert out[2]["output"] == f"noted on #{second}\n" and "warnings" not in out[2]
    assert "empty" in out[4]["error"]["message"] and "output" not in out[4]
    assert out[5]["output"] == f"noted on #{second}\n"


def test_a_ticket_named_by_id_is_labelled_by_its_number(cli: CLI, ws: Workspace) -> None:
    number = open_ticket(ws)
    with ws.reading() as connection:
        ticket_id = connection.execute("SELECT id FROM ticket WHERE number = ?", (number,)).fetchone()[0]
    done = cli(
        "batch",
        stdin=lines(
            {"cmd": "tickets note", "args": {"ticket": ticket_id, "body": "by id"}},
            {"cmd": "tickets reply", "args": {"ticket": f"#{number}", "body": "by #number"}},
            {"cmd": "tickets note", "args": {"ticket": ticket_id[:12], "body": "by prefix"}},
            {"cmd": "tickets reply", "args": {"ticket": "#0", "body": "nobody"}},
            {"cmd": "tickets note", "args": {"ticket": "zz-not-an-id", "body": "nobody"}},
        ),
    )
    out = results(done.stdout)
    assert out[0]["output"] == f"noted on #{number}\n"
    assert out[1]["output"] == f"replied on #{number}\n"
    assert out[2]["output"] == f"noted on #{number}\n"
    assert [r["exit"] for r in out[3:]] == [3, 3]
    assert out[3]["error"]["message"] == "no ticket #0" and out[4]["error"]["message"] == "no ticket zz-not-an-id"


def test_hostile_lines_are_refused_one_by_one_and_repeated_ones_alike(cli: CLI, ws: Workspace, tmp_path: Path) -> None:
    number = open_ticket(ws)
    note = {"cmd": "tickets note", "args": {"ticket": str(number), "body": "between hostile lines"}}
    hostile: list[str | bytes] = [
        "[" * 200_000,  # deeper than the JSON parser goes
        '{"cmd": "tickets note", "args": ' * 5_000 + "{}" + "}" * 5_000,
        b'{"cmd": "tickets note", "args": {"body": "\xff\xfe not utf-8"}}',
        json.dumps({"cmd": "tickets\u0000note", "args": {}}),
        json.dumps({"cmd": "tickets note\u001b[31m", "args": {}}),
        json.dumps({"cmd": "tickets explode"}),
        json.dumps({"cmd": "tickets explode"}),  # the same unknown command again: not remembered as found
        json.dumps({"cmd": "serve"}),
        json.dumps({"cmd": "serve"}),
        json.dumps({"cmd": "tickets note", "args": {"ticket": str(number), "--body": "x"}}),
        json.dumps({"cmd": "tickets note", "args": {"ticket": str(number), "_context": "x"}}),
        json.dumps({"cmd": "tickets note", "args": {"ticket": str(number), "body": ["a", "b"]}}),
        json.dumps({"cmd": "tickets note", "args": {"ticket": str(number), "body": True}}),
        json.dumps({"cmd": 5}),
        json.dumps({"cmd": "tickets note", "args": {"ticket": "--help", "body": "x"}}),
    ]
    path = tmp_path / "hostile.jsonl"
    path.write_bytes(
        b"".join(
            (line if isinstance(line, bytes) else line.encode()) + b"\n" + json.dumps(note).encode() + b"\n"
            for line in hostile
        )
    )
    done = cli("batch", str(path))
    out = results(done.stdout)
    assert done.code == 1 and len(out) == 2 * len(hostile)
    assert "Traceback" not in done.stdout + done.stderr
    refused, ran = out[0::2], out[1::2]
    assert all(r["ok"] for r in ran), [r for r in ran if not r["ok"]]
    assert all(not r["ok"] and r["error"]["message"] for r in refused)
    assert [r["exit"] for r in refused] == [2] * (len(hostile) - 1) + [3]
    assert "nested too deeply" in refused[0]["error"]["message"]
    assert refused[5]["error"] == refused[6]["error"] and "unknown command" in refused[5]["error"]["message"]
    assert refused[7]["error"] == refused[8]["error"] and "not run in a batch" in refused[7]["error"]["message"]
    assert "\x1b" not in done.stdout and "\x00" not in done.stdout  # JSON-escaped, never raw
    assert count(ws, "SELECT count(*) FROM message WHERE body = 'between hostile lines'") == len(hostile)
