"""Attacks on ``supportdesk batch``'s group commit (attack23): hostile lines in the middle of a
group must fail alone with one readable error, never end the batch, and never be answered as
applied without being committed; a restricted agent's lines see only what the agent may see
even inside a group whose reads share one connection; an erasure in the middle of a group is
committed on its own and the lines after it see it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from supportdesk.store.workspace import Workspace
from tests.cli.conftest import CLI
from tests.cli.test_batch import count, lines, open_ticket, results
from tests.cli.test_batch_group_commit import WHOLE_GROUPS, commits, note, notes_with

__all__ = ["commits"]


def test_lone_surrogates_and_bad_bytes_fail_their_line_alone(
    cli: CLI, ws: Workspace, tmp_path: Path, commits: list[str]
) -> None:
    number = open_ticket(ws)
    source = tmp_path / "hostile.jsonl"
    head = b'{"cmd": "tickets note", "args": {"ticket": "' + str(number).encode() + b'", "body": '
    body = b"".join(
        [
            json.dumps(note(number, "kept a", "a")).encode() + b"\n",
            # a lone surrogate as a JSON escape, and as the raw bytes a UTF-8 encoder refuses
            json.dumps(note(number, "half \ud800 of a pair", "b")).encode() + b"\n",
            head + b'"raw \xed\xa0\x80"}}\n',
            head + b'"latin \xe9"}}\n',
            b"\xff\xfe\x00\n",
            json.dumps({"cmd": "tickets create", "args": {"subject": "s\udfff", "requester": "x@example.com"}}).encode()
            + b"\n",
            json.dumps(note(number, "kept b", "g")).encode() + b"\n",
        ]
    )
    source.write_bytes(body)
    done = cli("batch", *WHOLE_GROUPS, str(source))
    out = results(done.stdout)
    assert done.code == 1, done.stderr
    assert [r["line"] for r in out] == list(range(1, 8)), out
    assert [r["ok"] for r in out] == [True, False, False, False, False, False, True], out
    for failed in out[1:6]:
        assert failed["exit"] == 2, failed  # the caller's input, not a bug of ours
        assert "unexpected" not in failed["error"]["message"], failed
    assert notes_with(ws, "kept a") == 1 and notes_with(ws, "kept b") == 1
    assert len(commits) == 1


def test_a_zero_attach_value_still_keeps_the_line_out_of_the_group(
    cli: CLI, ws: Workspace, tmp_path: Path, commits: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``"attach": 0`` names the file ``0``: the line stages it, so it must run on its own like
    any ``--attach`` line (``0 == False`` made it look unset)."""
    number = open_ticket(ws)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "0").write_bytes(b"a file named zero\n")
    done = cli(
        "batch",
        *WHOLE_GROUPS,
        stdin=lines(
            note(number, "before the attachment"),
            {"cmd": "tickets note", "args": {"ticket": str(number), "body": "with a file", "attach": 0}},
            note(number, "after the attachment"),
        ),
    )
    out = results(done.stdout)
    assert done.code == 0, out
    assert notes_with(ws, "with a file") == 1
    assert len(commits) == 3  # the note before it, the attachment line alone, the note after it


def _restricted(ws: Workspace) -> tuple[str, int, int]:
    """An agent of one group, one of its group's open tickets and another group's."""
    with ws.reading() as connection:
        agent, group = connection.execute(
            "SELECT a.id, ag.group_id FROM agent a JOIN agent_group ag ON ag.agent_id = a.id "
            "WHERE a.role = 'agent' ORDER BY a.email LIMIT 1"
        ).fetchone()
        mine = connection.execute(
            "SELECT number FROM ticket WHERE group_id = ? AND status = 'open' AND merged_into_id IS NULL "
            "ORDER BY number LIMIT 1",
            (group,),
        ).fetchone()[0]
        other = connection.execute(
            "SELECT number FROM ticket WHERE group_id IS NOT NULL AND group_id != ? AND (assignee_id IS NULL "
            "OR assignee_id != ?) AND status = 'open' AND merged_into_id IS NULL ORDER BY number LIMIT 1",
            (group, agent),
        ).fetchone()[0]
    return str(agent), int(mine), int(other)


def test_a_restricted_agent_names_another_groups_ticket_inside_a_group(cli: CLI, ws: Workspace) -> None:
    agent, mine, other = _restricted(ws)
    ws.set_setting("me", agent)
    with ws.reading() as connection:
        before = connection.execute(
            "SELECT subject, status, priority, merged_into_id FROM ticket WHERE number = ?", (other,)
        ).fetchone()
        other_id = connection.execute("SELECT id FROM ticket WHERE number = ?", (other,)).fetchone()[0]
    links = count(ws, "SELECT count(*) FROM ticket WHERE problem_id IS NOT NULL")
    tags = count(ws, "SELECT count(*) FROM ticket_tag WHERE tag = 'sneaky'")
    attempts: list[dict[str, Any]] = [
        {"cmd": "tickets show", "args": {"ticket": str(other), "json": True}},
        {"cmd": "tickets history", "args": {"ticket": str(other)}},
        {"cmd": "tickets attachments", "args": {"ticket": str(other)}},
        {"cmd": "tickets tag", "args": {"ticket": [str(other)], "tag": ["sneaky"]}},
        {"cmd": "tickets update", "args": {"ticket": [str(other)], "set": ["priority=urgent"], "yes": True}},
        {"cmd": "tickets close", "args": {"tickets": [str(other)], "yes": True}},
        {"cmd": "tickets merge", "args": {"source": str(other), "target": str(mine), "yes": True}},
        {"cmd": "tickets merge", "args": {"source": str(mine), "target": str(other), "yes": True}},
        {"cmd": "tickets link", "args": {"incident": str(mine), "problem": str(other)}},
        {"cmd": "tickets note", "args": {"ticket": other_id, "body": "by id"}},
    ]
    done = cli("batch", *WHOLE_GROUPS, stdin=lines(note(mine, "mine first"), *attempts, note(mine, "mine last")))
    out = results(done.stdout)
    assert done.code == 1
    assert out[0]["ok"] and out[-1]["ok"], out
    leaked = [(a["cmd"], r) for a, r in zip(attempts, out[1:-1], strict=True) if r["ok"]]
    assert not leaked, leaked
    # not found, as outside a group: the group's shared connection reads with the agent's eyes
    assert {r["error"]["kind"] for r in out[1:-1]} == {"not_found"}, out
    with ws.reading() as connection:
        after = connection.execute(
            "SELECT subject, status, priority, merged_into_id FROM ticket WHERE number = ?", (other,)
        ).fetchone()
    assert tuple(after) == tuple(before)
    assert count(ws, "SELECT count(*) FROM ticket WHERE problem_id IS NOT NULL") == links
    assert count(ws, "SELECT count(*) FROM ticket_tag WHERE tag = 'sneaky'") == tags
    assert notes_with(ws, "by id") == 0
    assert notes_with(ws, "mine first") == 1 and notes_with(ws, "mine last") == 1


def test_an_erasure_in_the_middle_of_a_group_commits_alone_and_the_lines_after_see_it(
    cli: CLI, ws: Workspace, commits: list[str]
) -> None:
    number = open_ticket(ws)
    with ws.reading() as connection:
        requester, name = connection.execute(
            "SELECT c.id, c.name FROM ticket t JOIN customer c ON c.id = t.requester_id WHERE t.number = ?",
            (number,),
        ).fetchone()
    done = cli(
        "batch",
        *WHOLE_GROUPS,
        stdin=lines(
            note(number, "before the erasure quotes them"),
            {"cmd": "customers erase", "args": {"customer": requester, "yes": True}},
            note(number, "after the erasure quotes them"),
            {"cmd": "tickets reply", "args": {"ticket": str(number), "body": "dear customer, after"}},
            {"cmd": "tickets show", "args": {"ticket": str(number), "json": True}},
            {"cmd": "customers erase", "args": {"customer": requester, "yes": True}},
        ),
    )
    out = results(done.stdout)
    assert done.code == 0, out
    assert [r["ok"] for r in out] == [True] * 6
    assert "already erased" in out[5]["output"]
    for gone in ("before the erasure quotes them", "after the erasure quotes them", "dear customer, after"):
        assert notes_with(ws, gone) == 0, gone
    assert len(name) > 3 and name not in json.dumps(out[2:])
    assert count(ws, "SELECT count(*) FROM customer WHERE id = ? AND erased_at IS NOT NULL", requester) == 1
    assert len(commits) == 3  # the note before, the erasure alone, the three lines after it


def test_four_hundred_and_one_lines_are_three_commits_of_at_most_two_hundred(
    cli: CLI, ws: Workspace, commits: list[str]
) -> None:
    number = open_ticket(ws)
    done = cli("batch", *WHOLE_GROUPS, stdin=lines(*(note(number, f"many {i}") for i in range(401))))
    out = results(done.stdout)
    assert done.code == 0 and len(out) == 401 and all(r["ok"] for r in out)
    assert [r["line"] for r in out] == list(range(1, 402))
    assert len(commits) == 3
    assert count(ws, "SELECT count(*) FROM message WHERE body LIKE 'many %'") == 401


def test_a_query_line_runs_on_its_own_so_its_semantic_term_does_not_wait_on_the_group(
    cli: CLI, ws: Workspace, commits: list[str]
) -> None:
    """``tickets update --query '~"…"'`` stores the vectors of tickets not yet indexed from a
    connection of its own: inside a group it waited the 5 s busy timeout on the group's write
    lock, every such line, and stored nothing. Run on its own, after the ticket created before
    it is committed, it finds that ticket and stores its vector."""
    number = open_ticket(ws)
    subject = "Refund for a double charge on my card"
    done = cli(
        "batch",
        *WHOLE_GROUPS,
        stdin=lines(
            {"cmd": "tickets create", "args": {"subject": subject, "requester": "r@example.com", "body": subject}},
            {"cmd": "tickets update", "args": {"query": '~"refund double charge"', "add-tag": ["meant"], "yes": True}},
            note(number, "after the query"),
        ),
    )
    out = results(done.stdout)
    assert done.code == 0, out
    assert len(commits) == 3  # the create, the query line alone, the note
    with ws.reading() as connection:
        (rowid,) = connection.execute("SELECT rowid FROM ticket WHERE subject = ?", (subject,)).fetchone()
        stored = connection.execute("SELECT count(*) FROM assist_code WHERE ticket_rowid = ?", (rowid,)).fetchone()
    assert stored[0] == 1  # the query line's own connection could write: no group held the lock
