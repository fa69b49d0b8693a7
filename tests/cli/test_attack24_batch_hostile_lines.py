"""attack24 on ``supportdesk batch``'s group commit: hostile lines in the middle of a group — a
JSON bomb of nesting, a line over ``--max-line``, ``batch`` inside a batch, a command that would
read stdin (``tickets update -``: it reads an empty one, never the batch's lines), an unknown
option — each fail alone (or do nothing) with one readable error, and the lines around them are
committed once, in one group. (Found nothing; kept as a regression test.)"""

from __future__ import annotations

import json
from pathlib import Path

from supportdesk.store.workspace import Workspace
from tests.cli.conftest import CLI
from tests.cli.test_batch import open_ticket, results
from tests.cli.test_batch_group_commit import WHOLE_GROUPS, commits, note, notes_with

__all__ = ["commits"]


def test_attack24_hostile_lines_mid_group_fail_alone(
    cli: CLI, ws: Workspace, tmp_path: Path, commits: list[str]
) -> None:
    number = open_ticket(ws)
    source = tmp_path / "hostile.jsonl"
    hostile = [
        "[" * 30_000 + "]" * 30_000,  # under --max-line: refused for its nesting
        json.dumps(note(number, "x" * 70_000)),
        json.dumps({"cmd": "batch", "args": {"file": str(source)}}),
        json.dumps({"cmd": "tickets update", "args": {"ticket": ["-"], "set": ["priority=urgent"], "yes": True}}),
        json.dumps({"cmd": "tickets update", "args": {"ticket": [str(number)], "set": ["priority=urgent"]}}),
        json.dumps({"cmd": "tickets note", "args": {"ticket": str(number), "body": "b", "unknown": {"a": [1] * 10}}}),
    ]
    body = "\n".join([json.dumps(note(number, "kept a")), *hostile, json.dumps(note(number, "kept b"))]) + "\n"
    source.write_text(body)
    done = cli("batch", *WHOLE_GROUPS, "--max-line", "65536", str(source))
    out = results(done.stdout)
    assert [r["line"] for r in out] == list(range(1, len(hostile) + 3)), out
    # the stdin line reads an empty stdin (not the batch's own lines) and changes nothing
    assert [r["ok"] for r in out] == [True, False, False, False, True, True, False, True], out
    assert out[4]["output"] == "changed 0 tickets\n", out[4]
    failed = [r for r in out if not r["ok"]]
    assert all(r["exit"] == 2 and r["error"]["kind"] == "usage" for r in failed), failed
    messages = [r["error"]["message"] for r in failed]
    assert "nested too deeply" in messages[0] and "line 3 is longer" in messages[1], messages
    assert "cannot run a batch" in messages[2] and "'unknown' is not an option" in messages[3], messages
    assert notes_with(ws, "kept a") == 1 and notes_with(ws, "kept b") == 1
    assert notes_with(ws, "x" * 70_000) == 0
    assert len(commits) == 1
