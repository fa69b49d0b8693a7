"""``supportdesk batch`` builds each command's option parser once and reuses it for every line of
that command (``cli.batch._reuse_parser``: ~2 % of a batched note). A line must still be parsed,
refused and worded exactly as by a parser of its own: each bad line below is run alone in a
batch (a fresh parser, as before the reuse) and again between good lines of the same command,
after the parser has served them, and its result must be the same — and the good lines after it
must not be touched by it."""

from __future__ import annotations

from typing import Any

import pytest

from supportdesk.store.workspace import Workspace
from tests.cli.conftest import CLI
from tests.cli.test_batch import lines, open_ticket, results

ESCAPES = "[bold red]boom[/] \x1b[2J\x1b]8;;https://evil.example\x07link\x1b]8;;\x07 \u202e"


def answer(result: dict[str, Any]) -> tuple[Any, ...]:
    """What a line's result says, without its line number."""
    return result["ok"], result["exit"], result.get("error"), result.get("output"), result.get("warnings")


def bad_lines(number: int) -> list[dict[str, Any]]:
    ticket = str(number)
    return [
        {"cmd": "tickets list", "args": {"limit": "abc"}},  # a value of the wrong type
        {"cmd": "tickets list", "args": {"limit": 0}},  # out of its range
        {"cmd": "tickets list", "args": {"limit": "-5"}},  # a value that looks like an option
        {"cmd": "tickets list", "args": {"limit": 2, "bogus": True}},  # no such option
        {"cmd": "tickets list", "args": {"limit": [1, 2]}},  # a list for a single value
        {"cmd": "tickets note", "args": {"body": "no ticket named"}},  # a missing argument
        {"cmd": "tickets note", "args": {"ticket": ticket, "body": "--help"}},  # an option as a value
        {"cmd": "tickets note", "args": {"ticket": ticket, "body-file": "/nonexistent/a", "body_file": "/no/b"}},
        {"cmd": "tickets note", "args": {"ticket": ticket, "body": "x", "body_file": "/nonexistent/c"}},
        {"cmd": "tickets note", "args": {"ticket": ESCAPES, "body": "x"}},  # markup/escapes in a value
        {"cmd": "tickets note", "args": {"ticket": ticket, "body": 5.5, ESCAPES: 1}},  # … in an option's name
        {"cmd": "tickets note", "args": {"ticket": ticket, "body": True}},  # a flag's value for a text
        {"cmd": "tickets update", "args": {"ticket": [ticket], "set": ["status=bogus"], "yes": True}},
        {"cmd": "tickets update", "args": {"ticket": [ticket], "set": "priority", "yes": True}},
        {"cmd": "tickets update", "args": {"ticket": [ticket], "yes": "yes"}},  # a flag given a string
        {"cmd": "tickets snooze", "args": {"ticket": ticket, "until": "not a time"}},
        {"cmd": "tickets explode", "args": {}},  # an unknown command
        '{"cmd": "tickets note", "args": {"ticket": "1", ',  # malformed JSON
    ]


def good_line(bad: dict[str, Any] | str, number: int, i: int) -> dict[str, Any]:
    """A line of the same command as ``bad`` that succeeds (it uses the same parser)."""
    name = bad["cmd"] if isinstance(bad, dict) else "tickets note"
    if name == "tickets list":
        return {"cmd": "tickets list", "args": {"limit": 2, "json": True}}
    if name == "tickets update":
        return {"cmd": "tickets update", "args": {"ticket": [str(number)], "set": ["priority=high"], "yes": True}}
    if name == "tickets snooze":
        return {"cmd": "tickets snooze", "args": {"ticket": str(number), "until": "2h"}}
    return {"cmd": "tickets note", "args": {"ticket": str(number), "body": f"good line {i}"}}


@pytest.mark.parametrize("which", range(len(bad_lines(1))))
def test_a_bad_line_is_answered_the_same_by_a_parser_that_served_other_lines(
    cli: CLI, ws: Workspace, which: int
) -> None:
    number = open_ticket(ws)
    bad = bad_lines(number)[which]
    alone = results(cli("batch", stdin=lines(bad)).stdout)
    assert len(alone) == 1, alone
    refused = not alone[0]["ok"]  # ``"body": "--help"`` is a body, as on the command line
    assert refused or bad["args"].get("body") == "--help", alone
    good = [good_line(bad, number, i) for i in range(3)]
    done = cli("batch", stdin=lines(good[0], bad, good[1], bad, good[2]))
    out = results(done.stdout)
    assert done.code == (1 if refused else 0) and len(out) == 5
    if refused:
        assert answer(out[1]) == answer(alone[0]) and answer(out[3]) == answer(alone[0]), (out, alone)
        message = alone[0]["error"]["message"]
        assert "\x1b" not in message and "\u202e" not in message  # shown escaped, never acted on
    else:
        assert out[1]["output"] == out[3]["output"] == alone[0]["output"]
    assert [r["ok"] for r in out] == [True, not refused, True, not refused, True], out


def test_a_parser_error_reads_as_the_command_lines_own(cli: CLI, ws: Workspace) -> None:
    """The reused parser still words click's errors with the line's own context."""
    number = open_ticket(ws)
    direct = cli("tickets", "list", "--limit", "abc")
    missing = cli("tickets", "note", "--body", "x")
    done = cli(
        "batch",
        stdin=lines(
            {"cmd": "tickets list", "args": {"limit": 2}},
            {"cmd": "tickets list", "args": {"limit": "abc"}},
            {"cmd": "tickets note", "args": {"ticket": str(number), "body": "first"}},
            {"cmd": "tickets note", "args": {"body": "x"}},
        ),
    )
    out = results(done.stdout)
    assert out[1]["exit"] == direct.code == 2 and out[3]["exit"] == missing.code == 2
    assert "'abc' is not a valid int range" in out[1]["error"]["message"]
    assert "'abc' is not a valid int range" in direct.stderr
    assert "Missing argument 'TICKET'" in out[3]["error"]["message"]
    assert "Missing argument 'TICKET'" in missing.stderr


def test_options_given_twice_and_repeated_options_parse_as_on_the_command_line(cli: CLI, ws: Workspace) -> None:
    number = open_ticket(ws)
    done = cli(
        "batch",
        stdin=lines(
            {"cmd": "tickets tag", "args": {"ticket": [str(number)], "tag": ["one"]}},
            {"cmd": "tickets tag", "args": {"ticket": [str(number)], "tag": ["two", "three"]}},
            {"cmd": "tickets show", "args": {"ticket": str(number), "json": True}},
            {"cmd": "tickets show", "args": {"ticket": str(number), "json": False}},
        ),
    )
    out = results(done.stdout)
    assert [r["ok"] for r in out] == [True] * 4, out
    assert {"one", "two", "three"} <= set(out[2]["output"]["tags"])
    assert isinstance(out[3]["output"], str)  # --json off after a line that turned it on
