"""``supportdesk batch`` commits consecutive lines together (issue 19's 2,000 operations/s):
each write stays atomic and independent in its own savepoint, a result is printed only after the
COMMIT that holds its line, and when that COMMIT fails no line of the group is applied or
answered as done. The hooks below make a line's write fail in a chosen way *inside* the write
path, after the mutation's own rows (message, audit, outbox) are written: a constraint, an
unexpected exception, a deferred foreign key that SQLite refuses only at COMMIT, and SQLite
ending the whole transaction itself (what a full disk or an I/O error does)."""

from __future__ import annotations

import array
import json
import os
import selectors
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from supportdesk.store.workspace import Workspace
from tests.cli.conftest import CLI
from tests.cli.test_batch import count, lines, open_ticket, results

#: A group is not cut by time in these tests (50 ms is a few lines on a loaded machine): what
#: they count is the commits the lines themselves call for.
WHOLE_GROUPS = ("--commit-ms", "10000")


def note(number: int, body: str, request_id: Any = None) -> dict[str, Any]:
    line: dict[str, Any] = {"cmd": "tickets note", "args": {"ticket": str(number), "body": body}}
    if request_id is not None:
        line["id"] = request_id
    return line


def notes_with(ws: Workspace, body: str) -> int:
    return count(ws, "SELECT count(*) FROM message WHERE body = ?", body)


def outbox_ids(ws: Workspace) -> list[int]:
    with ws.reading() as connection:
        return [int(row[0]) for row in connection.execute("SELECT id FROM outbox ORDER BY id")]


@pytest.fixture
def commits(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every COMMIT the batch's write engine tries to end a transaction with."""
    from supportdesk.store import engine

    ended: list[str] = []
    real = engine._end_then_give_back

    def counting(turns: Any, connection: Any, end: str) -> None:
        if end == "commit" and engine.WriteTurns.KEY in connection.info:
            ended.append(end)
        real(turns, connection, end)

    monkeypatch.setattr(engine, "_end_then_give_back", counting)
    return ended


@pytest.fixture
def poisoned(monkeypatch: pytest.MonkeyPatch) -> None:
    """A note whose body names a failure gets it right after its rows are written."""
    from supportdesk.domain import write

    real = write._apply_in

    def apply_in(connection: Any, name: str, args: Any, *rest: Any, **options: Any) -> Any:
        outcome = real(connection, name, args, *rest, **options)
        body = args.get("body") if isinstance(args, dict) else None
        if body == "constraint":  # a tag of a ticket that does not exist: the foreign key refuses it
            connection.exec_driver_sql("INSERT INTO ticket_tag (ticket_id, tag) VALUES ('no-such-ticket', 'x')")
        elif body == "explode":
            raise RuntimeError("a bug in a hook")
        elif body == "refuse-at-commit":  # only COMMIT checks a deferred foreign key
            connection.exec_driver_sql("PRAGMA defer_foreign_keys = ON")
            connection.exec_driver_sql("INSERT INTO ticket_tag (ticket_id, tag) VALUES ('no-such-ticket', 'y')")
        elif body == "lose-everything":  # SQLITE_FULL / IOERR: SQLite rolls the transaction back itself
            connection.connection.dbapi_connection.execute("ROLLBACK")
            raise OSError("database or disk is full")
        elif body == "lose-quietly":  # the same, but the code in between catches the error itself
            connection.connection.dbapi_connection.execute("ROLLBACK")
        return outcome

    monkeypatch.setattr(write, "_apply_in", apply_in)


def test_consecutive_lines_share_one_commit_and_reads_see_the_writes_before_them(
    cli: CLI, ws: Workspace, commits: list[str]
) -> None:
    number = open_ticket(ws)
    done = cli(
        "batch",
        *WHOLE_GROUPS,
        stdin=lines(
            note(number, "grouped one"),
            {"cmd": "tickets update", "args": {"ticket": [str(number)], "set": ["priority=urgent"], "yes": True}},
            {"cmd": "tickets show", "args": {"ticket": str(number), "json": True}},
            {"cmd": "tickets history", "args": {"ticket": str(number)}},
            note(number, "grouped two"),
        ),
    )
    out = results(done.stdout)
    assert done.code == 0, out
    assert out[2]["output"]["priority"] == "urgent"  # read inside the group: sees line 2
    assert "tag.added escalated" in out[3]["output"]  # the rule line 2's priority set off, in the group
    assert len(commits) == 1  # five lines, one COMMIT (a transaction per line made two)
    assert notes_with(ws, "grouped one") == 1 and notes_with(ws, "grouped two") == 1


def test_a_command_not_grouped_commits_the_lines_before_it_first(cli: CLI, ws: Workspace, commits: list[str]) -> None:
    """`tickets list` runs on its own (a semantic term may write vectors from a connection of its
    own): the group before it is committed first, so the listing sees the note."""
    number = open_ticket(ws)
    done = cli(
        "batch",
        *WHOLE_GROUPS,
        stdin=lines(
            note(number, "before the listing"),
            {"cmd": "tickets update", "args": {"ticket": [str(number)], "set": ["priority=urgent"], "yes": True}},
            {"cmd": "tickets list", "args": {"query": "priority:urgent", "json": True, "limit": 1000}},
            note(number, "after the listing"),
        ),
    )
    out = results(done.stdout)
    assert done.code == 0, out
    assert number in [row["number"] for row in out[2]["output"]]
    assert len(commits) == 2  # the two lines before the listing, then the one after it


def test_commit_every_one_is_a_transaction_per_line(cli: CLI, ws: Workspace, commits: list[str]) -> None:
    number = open_ticket(ws)
    done = cli("batch", "--commit-every", "1", stdin=lines(*(note(number, f"alone {i}") for i in range(3))))
    assert done.code == 0 and all(r["ok"] for r in results(done.stdout))
    assert len(commits) == 3


@pytest.mark.usefixtures("poisoned")
def test_a_failing_line_in_the_middle_of_a_group_is_rolled_back_alone(
    cli: CLI, ws: Workspace, commits: list[str]
) -> None:
    number, closed = open_ticket(ws), open_ticket(ws, 1)
    before = outbox_ids(ws)
    done = cli(
        "batch",
        *WHOLE_GROUPS,
        stdin=lines(
            note(number, "kept 1", "a"),
            note(number, "constraint", "b"),  # its rows are written, then the foreign key refuses
            note(999_999, "kept never", "c"),  # not found
            {"cmd": "tickets note", "args": {"ticket": str(number), "bogus": 1}, "id": "d"},  # bad args
            '{"cmd": "tickets note", "args": {"ticket": ',  # malformed JSON in the middle of the group
            note(number, "explode", "f"),  # an unexpected exception after its rows are written
            note(number, "kept 2", "g"),
            {"cmd": "tickets update", "args": {"ticket": [str(closed)], "set": ["status=closed"], "yes": True}},
            note(closed, "kept never either", "i"),  # refused by the mutation: closed is final
            note(number, "kept 3", "j"),
        ),
    )
    out = results(done.stdout)
    assert done.code == 1
    assert [r["line"] for r in out] == list(range(1, 11))
    assert [r["ok"] for r in out] == [True, False, False, False, False, False, True, True, False, True]
    assert out[1]["exit"] == 4 and "FOREIGN KEY" in out[1]["error"]["message"]
    assert out[2]["error"]["kind"] == "not_found"
    assert out[3]["error"]["kind"] == "usage" and out[4]["error"]["kind"] == "usage"
    assert "unexpected RuntimeError: a bug in a hook" in out[5]["error"]["message"]
    assert out[8]["error"]["kind"] == "usage"
    assert len(commits) == 1  # the failures did not end the group
    for kept in ("kept 1", "kept 2", "kept 3"):
        assert notes_with(ws, kept) == 1
    for gone in ("constraint", "explode", "kept never", "kept never either"):
        assert notes_with(ws, gone) == 0
    assert count(ws, "SELECT count(*) FROM ticket_tag WHERE ticket_id = 'no-such-ticket'") == 0
    # the sync outbox: each applied mutation exactly once (3 notes and the status change), with
    # consecutive ids — the rolled-back lines left neither an entry nor a hole
    added = [i for i in outbox_ids(ws) if i not in before]
    assert len(added) == 4
    assert added == list(range(added[0], added[0] + 4)) and added[0] == max(before, default=0) + 1
    with ws.reading() as connection:
        names = [row[0] for row in connection.execute("SELECT name FROM outbox WHERE id >= ? ORDER BY id", (added[0],))]
    assert names == ["ticket.note", "ticket.note", "ticket.set_status", "ticket.note"]


@pytest.mark.usefixtures("poisoned")
def test_a_group_whose_commit_fails_is_answered_failed_and_nothing_of_it_is_applied(
    cli: CLI, ws: Workspace, commits: list[str]
) -> None:
    number = open_ticket(ws)
    before = outbox_ids(ws)
    audit = count(ws, "SELECT count(*) FROM audit_event")
    done = cli(
        "batch",
        *WHOLE_GROUPS,
        stdin=lines(
            note(number, "lost 1"),
            {"cmd": "tickets show", "args": {"ticket": str(number), "json": True}},
            note(number, "refuse-at-commit"),  # its own write succeeds; SQLite refuses the COMMIT
            note(999_999, "not found anyway"),
            note(number, "lost 2"),
        ),
    )
    out = results(done.stdout)
    assert done.code == 1
    assert [r["ok"] for r in out] == [False] * 5  # nothing answered as done
    for result in (out[0], out[1], out[2], out[4]):
        assert result["error"]["message"].startswith("not applied: the commit of its group of lines failed")
        assert "FOREIGN KEY" in result["error"]["message"] and "output" not in result
    assert out[3]["error"]["kind"] == "not_found"  # its own failure stays its own
    assert notes_with(ws, "lost 1") == 0 and notes_with(ws, "lost 2") == 0
    assert notes_with(ws, "refuse-at-commit") == 0
    assert outbox_ids(ws) == before and count(ws, "SELECT count(*) FROM audit_event") == audit
    assert len(commits) == 1  # one COMMIT tried for the five lines, and refused
    # the batch goes on after a failed group: the next lines are a group of their own
    again = cli("batch", stdin=lines(note(number, "after the failed group")))
    assert again.code == 0 and notes_with(ws, "after the failed group") == 1


@pytest.mark.usefixtures("poisoned")
def test_sqlite_ending_the_transaction_under_a_line_fails_every_line_of_its_group(cli: CLI, ws: Workspace) -> None:
    number = open_ticket(ws)
    before = outbox_ids(ws)
    done = cli(
        "batch",
        *WHOLE_GROUPS,
        "--commit-every",
        "3",
        stdin=lines(
            note(number, "gone 1"),
            note(number, "lose-everything"),
            note(number, "next group 1"),  # after the lost group: a new transaction
            note(number, "next group 2"),
        ),
    )
    out = results(done.stdout)
    assert [r["ok"] for r in out] == [False, False, True, True]
    assert out[0]["error"]["message"].startswith("not applied: the transaction it shared was rolled back")
    assert "disk is full" in out[1]["error"]["message"]
    assert notes_with(ws, "gone 1") == 0 and notes_with(ws, "lose-everything") == 0
    assert notes_with(ws, "next group 1") == 1 and notes_with(ws, "next group 2") == 1
    assert len(outbox_ids(ws)) == len(before) + 2


@pytest.mark.usefixtures("poisoned")
def test_a_transaction_sqlite_ended_unseen_by_the_line_is_not_answered_as_applied(cli: CLI, ws: Workspace) -> None:
    """The write path caught SQLite's error and returned: the line and the lines before it lost
    their writes all the same, so none of them may be printed as applied (reviewer's find)."""
    number = open_ticket(ws)
    done = cli(
        "batch",
        *WHOLE_GROUPS,
        stdin=lines(note(number, "gone quietly 1"), note(number, "lose-quietly"), note(number, "after it")),
    )
    out = results(done.stdout)
    assert [r["ok"] for r in out] == [False, False, True]
    assert out[0]["error"]["message"].startswith("not applied: the transaction it shared was rolled back")
    assert "ended the transaction the lines shared" in out[1]["error"]["message"]
    assert notes_with(ws, "gone quietly 1") == 0 and notes_with(ws, "lose-quietly") == 0
    assert notes_with(ws, "after it") == 1


def test_a_dry_run_line_in_a_batch_is_not_held_in_a_group(cli: CLI, ws: Workspace, commits: list[str]) -> None:
    """A line's own ``--dry-run`` opens and rolls back a transaction of its own: inside a group
    it waited on the group's write lock (one minute per try, eight tries). It runs on its own,
    after the lines before it are committed, and changes nothing."""
    number = open_ticket(ws)
    with ws.reading() as connection:
        (priority,) = connection.execute("SELECT priority FROM ticket WHERE number = ?", (number,)).fetchone()
    other = "low" if priority != "low" else "high"
    done = cli(
        "batch",
        *WHOLE_GROUPS,
        stdin=lines(
            note(number, "before the rehearsal"),
            {"cmd": "tickets update", "args": {"ticket": [str(number)], "set": [f"priority={other}"], "dry-run": True}},
            {"cmd": "tickets tag", "args": {"ticket": [str(number)], "tag": ["rehearsed"], "dry_run": True}},
            note(number, "after the rehearsal"),
        ),
    )
    out = results(done.stdout)
    assert done.code == 0, out
    assert [r["ok"] for r in out] == [True] * 4
    assert notes_with(ws, "before the rehearsal") == 1 and notes_with(ws, "after the rehearsal") == 1
    assert count(ws, "SELECT count(*) FROM ticket WHERE number = ? AND priority = ?", number, priority) == 1
    assert count(ws, "SELECT count(*) FROM ticket_tag WHERE tag = 'rehearsed'") == 0
    assert len(commits) == 2  # the note before the rehearsals, then the one after


def test_stop_on_error_commits_and_answers_the_lines_before_it(cli: CLI, ws: Workspace) -> None:
    number = open_ticket(ws)
    done = cli(
        "batch",
        *WHOLE_GROUPS,
        "--stop-on-error",
        stdin=lines(note(number, "before the stop"), note(999_999, "x"), note(number, "never run")),
    )
    out = results(done.stdout)
    assert done.code == 1 and [r["ok"] for r in out] == [True, False]
    assert notes_with(ws, "before the stop") == 1 and notes_with(ws, "never run") == 0


def _answer(process: subprocess.Popen[bytes], selector: selectors.BaseSelector) -> dict[str, Any]:
    """The next result line; fails (not hangs) when none comes while stdin is still open."""
    assert process.stdout is not None
    if not selector.select(timeout=60):
        process.kill()
        pytest.fail("batch did not answer a line while its stdin stayed open")
    return dict(json.loads(process.stdout.readline()))


def test_a_script_that_waits_for_each_answer_gets_it_without_closing_stdin(ws: Workspace) -> None:
    """The group is committed as soon as no further line is ready on the pipe: a script that
    writes a line and waits for its result is never left waiting for more input."""
    number = open_ticket(ws)
    process = subprocess.Popen(
        [sys.executable, "-m", "supportdesk", "--workspace", str(ws.root), "batch"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        bufsize=0,  # unbuffered: what select says about the pipe is all there is to read
        env={**os.environ},
    )
    assert process.stdin is not None and process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    try:
        process.stdin.write(lines(note(number, "interactive 1", 1)).encode())
        process.stdin.flush()
        first = _answer(process, selector)
        assert first["id"] == 1 and first["ok"]
        assert notes_with(ws, "interactive 1") == 1  # answered only once committed
        # the next line reads what the first wrote, in a new group
        process.stdin.write(lines({"cmd": "tickets show", "args": {"ticket": str(number), "json": True}}).encode())
        process.stdin.flush()
        shown = _answer(process, selector)
        assert shown["ok"] and shown["output"]["number"] == number
        process.stdin.write(lines('{"cmd": ', note(number, "interactive 2", 3)).encode())
        process.stdin.flush()
        assert _answer(process, selector)["error"]["kind"] == "usage"
        third = _answer(process, selector)
        assert third["id"] == 3 and third["ok"] and notes_with(ws, "interactive 2") == 1
    finally:
        process.stdin.close()
        process.wait(timeout=60)
        selector.close()
    assert process.returncode == 1  # the malformed line failed


def _until_read(pipe: Any, timeout: float = 60.0) -> None:
    """Wait until the reader of ``pipe`` has read everything written to it (FIONREAD, which
    works on the writing end too, counts the bytes still in the pipe)."""
    import fcntl
    import termios
    import time

    deadline = time.monotonic() + timeout
    found = array.array("i", [1])
    while True:
        fcntl.ioctl(pipe.fileno(), termios.FIONREAD, found)
        if found[0] == 0:
            return
        if time.monotonic() > deadline:
            pytest.fail("batch never read its first line")
        time.sleep(0.005)


def test_half_of_the_next_line_on_the_pipe_does_not_hold_the_answers_back(ws: Workspace) -> None:
    """Bytes on the pipe are not a line: a producer that wrote one line and half of the next,
    then waits for the first answer, gets it (and the write lock is not kept meanwhile)."""
    number = open_ticket(ws)
    process = subprocess.Popen(
        [sys.executable, "-m", "supportdesk", "--workspace", str(ws.root), "batch"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        bufsize=0,
        env={**os.environ},
    )
    assert process.stdin is not None and process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    try:
        whole = lines(note(number, "whole line", 1))
        second = lines(note(number, "second line", 2))
        # the half line reaches the pipe once the first line was read, while it runs (the process
        # is still importing the write path): it used to be taken for a line ready to read
        process.stdin.write(whole.encode())
        process.stdin.flush()
        _until_read(process.stdin)
        process.stdin.write(second[:20].encode())
        process.stdin.flush()
        first = _answer(process, selector)
        assert first["id"] == 1 and first["ok"] and notes_with(ws, "whole line") == 1
        with ws.writing() as connection:  # the lock is free while the rest of the line is awaited
            connection.execute("SELECT 1")
        process.stdin.write(second[20:].encode())
        process.stdin.flush()
        assert _answer(process, selector)["id"] == 2 and notes_with(ws, "second line") == 1
    finally:
        process.stdin.close()
        process.wait(timeout=60)
        selector.close()
    assert process.returncode == 0


def test_a_line_longer_than_the_limit_on_a_pipe_is_skipped_and_the_next_runs(ws: Workspace, tmp_path: Path) -> None:
    """The pipe is read through its descriptor now: a line over --max-line is still dropped
    piece by piece, and the line after it still runs."""
    number = open_ticket(ws)
    long_line = json.dumps(note(number, "x" * 300_000)) + "\n"
    stdin = long_line + lines(note(number, "after the long line")) + json.dumps(note(number, "no newline at the end"))
    done = subprocess.run(
        [sys.executable, "-m", "supportdesk", "--workspace", str(ws.root), "batch", "--max-line", "100000"],
        input=stdin.encode(),
        capture_output=True,
        timeout=300,
    )
    out = results(done.stdout.decode())
    assert [r["ok"] for r in out] == [False, True, True], out
    assert "longer than 100,000 bytes" in out[0]["error"]["message"]
    assert notes_with(ws, "after the long line") == 1 and notes_with(ws, "no newline at the end") == 1
