"""Bulk changes: selection, dry run, confirmation, partial failure, reruns, and the shell pipe."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from supportdesk.store.workspace import Workspace
from tests.cli.conftest import CLI


def rows(ws: Workspace, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with ws.reading() as connection:
        return [tuple(row) for row in connection.execute(sql, params)]


def numbers(ws: Workspace, where: str, limit: int = 1000) -> list[int]:
    return [r[0] for r in rows(ws, f"SELECT number FROM ticket WHERE {where} ORDER BY number LIMIT {limit}")]


def statuses(ws: Workspace, picked: list[int]) -> dict[int, str]:
    marks = ",".join("?" * len(picked))
    return dict(rows(ws, f"SELECT number, status FROM ticket WHERE number IN ({marks})", *picked))  # type: ignore[arg-type]


def test_the_issue_pipe_through_a_real_shell(cli: CLI, ws: Workspace) -> None:
    more = cli("tickets", "update", "--query", "status:solved", "--set", "status=open", "--add-tag", "refund", "--yes")
    assert more.code == 0, more.stderr
    refund = numbers(ws, "id IN (SELECT ticket_id FROM ticket_tag WHERE tag = 'refund')")
    assert len(refund) > 50  # enough to need --yes
    before_open = [n for n, s in statuses(ws, refund).items() if s not in ("solved", "closed")]
    assert before_open
    command = [sys.executable, "-m", "supportdesk"]
    line = (
        f"{' '.join(command)} tickets list --query 'tag:refund' --plain --fields number | "
        f"{' '.join(command)} tickets update - --set status=solved --yes"
    )
    env = {**os.environ, "SUPPORTDESK_WORKSPACE": str(ws.root)}
    result = subprocess.run(["sh", "-c", line], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"changed {len(before_open)} ticket")
    after = statuses(ws, refund)
    assert set(after.values()) <= {"solved", "closed"}
    rerun = subprocess.run(["sh", "-c", line], capture_output=True, text=True, env=env, timeout=300)
    assert rerun.returncode == 0
    assert rerun.stdout.strip() == f"changed 0 tickets, {len(refund)} already as asked"


def test_query_selection_with_several_changes(cli: CLI, ws: Workspace) -> None:
    query = "tag:billing status:open group:billing"
    chosen = numbers(ws, "status = 'open' AND group_id = (SELECT id FROM groups WHERE name = 'Billing') "
                         "AND id IN (SELECT ticket_id FROM ticket_tag WHERE tag = 'billing')")  # fmt: skip
    assert 0 < len(chosen) <= 50
    result = cli(
        "tickets", "update", "--query", query, "--set", "priority=urgent", "--add-tag", "Audit 2026",
        "--remove-tag", "billing", "--assign", "Aisha Bello", "--json",
    )  # fmt: skip
    assert result.code == 0, result.stderr
    report = json.loads(result.stdout)
    assert {r["ticket"] for r in report} == {f"#{n}" for n in chosen}
    assert all(r["outcome"] == "changed" for r in report)
    marks = ",".join("?" * len(chosen))
    changed = rows(
        ws,
        "SELECT t.priority, a.name, (SELECT group_concat(tag) FROM ticket_tag WHERE ticket_id = t.id) "
        f"FROM ticket t JOIN agent a ON a.id = t.assignee_id WHERE t.number IN ({marks})",
        *chosen,
    )
    for priority, assignee, tags in changed:
        assert priority == "urgent" and assignee == "Aisha Bello"
        assert "audit_2026" in tags.split(",") and "billing" not in tags.split(",")
    rerun = cli("tickets", "update", "--query", "tag:audit_2026", "--set", "priority=urgent", "--add-tag", "audit_2026")
    assert rerun.stdout.strip() == f"changed 0 tickets, {len(chosen)} already as asked"


def test_dry_run_prints_the_changes_and_writes_nothing(cli: CLI, ws: Workspace) -> None:
    picked = numbers(ws, "status = 'open'", limit=3)
    before = rows(ws, "SELECT count(*) FROM audit_event")
    outbox = rows(ws, "SELECT count(*) FROM outbox")
    result = cli(
        "tickets", "update", *map(str, picked), "--set", "status=pending", "--add-tag", "x1", "--dry-run", "--json"
    )
    assert result.code == 0, result.stderr
    changes = json.loads(result.stdout)
    status_changes = [c for c in changes if c["field"] == "status"]
    assert {c["ticket"] for c in status_changes} == {f"#{n}" for n in picked}
    assert all(c["before"] == "open" and c["after"] == "pending" for c in status_changes)
    assert {c["after"] for c in changes if c["field"] == "tag.added"} == {"x1"}
    assert "would change 3 tickets" in result.stderr
    assert set(statuses(ws, picked).values()) == {"open"}
    assert rows(ws, "SELECT count(*) FROM audit_event") == before
    assert rows(ws, "SELECT count(*) FROM outbox") == outbox


def test_more_than_fifty_tickets_need_yes_without_a_terminal(cli: CLI, ws: Workspace) -> None:
    query = "status:solved"
    before = rows(ws, "SELECT count(*) FROM ticket WHERE priority = 'low'")
    refused = cli("tickets", "update", "--query", query, "--set", "priority=low")
    assert refused.code == 2
    assert "--yes" in refused.stderr and refused.stderr.count("\n") == 1
    assert rows(ws, "SELECT count(*) FROM ticket WHERE priority = 'low'") == before
    done = cli("tickets", "update", "--query", query, "--set", "priority=low", "--yes")
    assert done.code == 0, done.stderr
    assert rows(ws, "SELECT count(*) FROM ticket WHERE status = 'solved' AND priority != 'low'") == [(0,)]


def test_refused_tickets_are_listed_and_the_rest_applied(cli: CLI, ws: Workspace) -> None:
    closed = numbers(ws, "status = 'closed'", limit=2)
    open_ = numbers(ws, "status = 'open'", limit=3)
    result = cli("tickets", "update", *map(str, closed + open_), "--add-tag", "reviewed", "--plain")
    assert result.code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("supportdesk: error:")]
    assert len(errors) == 2 and all("closed is final" in line for line in errors)
    lines = [line.split("\t") for line in result.stdout.splitlines()[1:]]
    outcomes = {line[0]: line[2] for line in lines}
    assert outcomes == {**{f"#{n}": "refused" for n in closed}, **{f"#{n}": "changed" for n in open_}}
    tagged = rows(ws, "SELECT t.number FROM ticket_tag g JOIN ticket t ON t.id = g.ticket_id WHERE g.tag = 'reviewed'")
    assert sorted(r[0] for r in tagged) == open_


def test_references_that_match_nothing(cli: CLI, ws: Workspace) -> None:
    first = numbers(ws, "status = 'open'", limit=1)[0]
    some = cli("tickets", "update", "999999", str(first), "--add-tag", "seen")
    assert some.code == 1 and "no ticket 999999" in some.stderr
    assert "changed 1 ticket" in some.stdout
    none = cli("tickets", "update", "999998", "#999999", "--add-tag", "seen")
    assert none.code == 3


def test_stdin_references_skip_a_header_and_take_the_first_column(cli: CLI, ws: Workspace) -> None:
    picked = numbers(ws, "status = 'pending'", limit=2)
    ticket_id = rows(ws, "SELECT id FROM ticket WHERE status = 'pending' ORDER BY number LIMIT 1 OFFSET 2")[0][0]
    piped = f"number\tsubject\n{picked[0]}\tsome subject\n#{picked[1]}\tanother one\n\n{ticket_id}\n"
    result = cli("tickets", "update", "-", "--add-tag", "piped", stdin=piped)
    assert result.code == 0, result.stderr
    assert result.stdout.strip() == "changed 3 tickets"


def test_usage_errors(cli: CLI) -> None:
    for args in (
        ("tickets", "update", "1", "--set", "colour=red"),
        ("tickets", "update", "1", "--set", "status=nope"),
        ("tickets", "update", "1"),
        ("tickets", "update", "1", "--query", "status:open", "--add-tag", "x"),
        ("tickets", "update", "--query", "status:", "--add-tag", "x"),
        ("tickets", "update", "1", "--add-tag", "not a tag!"),
        ("tickets", "update", "--add-tag", "x"),
    ):
        result = cli(*args)
        assert result.code == 2, (args, result.stderr)
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_macro_in_a_bulk_change_is_not_applied_twice(cli: CLI, ws: Workspace) -> None:
    picked = numbers(ws, "status = 'open'", limit=2)
    macro = "Card declined: first answer"
    assert rows(ws, "SELECT count(*) FROM macro WHERE name = ?", macro) == [(1,)]
    first = cli("macros", "apply", macro, *map(str, picked))
    assert first.code == 0, first.stderr
    assert first.stdout.strip() == "changed 2 tickets"
    second = cli("tickets", "update", *map(str, picked), "--macro", macro)
    assert second.stdout.strip() == "changed 0 tickets, 2 already as asked"
    count = rows(
        ws,
        "SELECT count(*) FROM message m JOIN macro x ON json_extract(m.meta, '$.macro_id') = x.id WHERE x.name = ?",
        macro,
    )
    assert count == [(2,)]


def test_a_closed_ticket_counts_as_solved_already(cli: CLI, ws: Workspace) -> None:
    closed = numbers(ws, "status = 'closed'", limit=1)
    result = cli("tickets", "close", str(closed[0]))
    assert result.code == 0 and result.stdout.strip() == "changed 0 tickets, 1 already as asked"


def test_an_agent_s_bulk_change_selects_only_the_tickets_they_may_see(cli: CLI, ws: Workspace) -> None:
    """A standalone workspace holds every group's tickets: an agent's ``--query`` selects only
    theirs (never a refusal line naming another group's ticket, nor a count of them), and
    another group's number is ``no ticket N``, as every read answers it."""
    ((agent,),) = rows(
        ws,
        "SELECT a.id FROM agent a WHERE a.role = 'agent' "
        "AND EXISTS (SELECT 1 FROM agent_group g WHERE g.agent_id = a.id) ORDER BY a.email LIMIT 1",
    )
    others = "group_id NOT IN (SELECT group_id FROM agent_group WHERE agent_id = ?) AND coalesce(assignee_id, '') != ?"
    hidden = [
        r[0]
        for r in rows(ws, f"SELECT number FROM ticket WHERE status = 'open' AND {others} ORDER BY number", agent, agent)
    ]
    assert hidden
    ws.set_setting("me", agent)
    result = cli("tickets", "update", "--query", "status:open", "--add-tag", "reviewed", "--yes", "--plain")
    shown = result.stdout + result.stderr
    assert not [n for n in hidden if f"#{n}\t" in shown or f"#{n}:" in shown], shown[:400]
    assert "refused" not in shown and result.code == 0, shown[:400]
    tagged = rows(ws, "SELECT t.number FROM ticket_tag g JOIN ticket t ON t.id = g.ticket_id WHERE g.tag = 'reviewed'")
    assert tagged and not {r[0] for r in tagged} & set(hidden)
    by_number = cli("tickets", "update", str(hidden[0]), "--add-tag", "reviewed")
    assert by_number.code == 3 and f"no ticket {hidden[0]}" in by_number.stderr, by_number.stderr
