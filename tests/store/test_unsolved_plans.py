"""Unsolved tickets are few: queries that keep to them stay fast whatever the statistics say.

The planner learns how many tickets a status holds from ``sqlite_stat1`` — an average over six
statuses, which on a real workspace (most tickets solved or closed) makes "not solved" look like
two thirds of the table. These tests give a small demo workspace the statistics of a
million-ticket one and check that the unsolved queues still walk their own small index, and that
text searches inside them check their matches against the unsolved set.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from supportdesk.store import reads
from supportdesk.store.query import compile_query
from supportdesk.store.workspace import DB_NAME, Workspace

#: ANALYZE of the 1,000,006-ticket demo (no analysis limit): 166,668 tickets per status on average.
MILLION = {
    "ix_ticket_updated": "1000006 1 1",
    "ix_ticket_created": "1000006 1 1",
    "ix_ticket_status_updated": "1000006 166668 1 1",
    "ix_ticket_status_solved": "1000006 166668 1",
    "ix_ticket_status_priority": "1000006 166668 41667",
    "ix_ticket_priority_updated": "1000006 250002 1 1",
    "ix_ticket_group_updated": "1000006 200002 1 1",
    "ix_ticket_group_status": "1000006 200002 33334",
    "ix_ticket_assignee_updated": "1000006 52632 1 1",
    "ix_ticket_assignee_status": "1000006 52632 9260",
    "ix_ticket_unsolved_updated": "11597 1 1",
    "ix_ticket_unsolved_assignee": "11597 611 1 1",
}


@pytest.fixture
def million_stats(demo_workspace: Workspace, tmp_path: Path) -> Workspace:
    root = tmp_path / "ws"
    root.mkdir()
    shutil.copy(demo_workspace.db_path, root / DB_NAME)
    workspace = Workspace.open(root)
    with workspace.connect() as connection:
        connection.execute("DELETE FROM sqlite_stat1 WHERE tbl = 'ticket'")
        connection.executemany(
            "INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES ('ticket', ?, ?)", list(MILLION.items())
        )
    return workspace


def plan_steps(workspace: Workspace, query: str, sort: str | None = "updated-desc") -> list[str]:
    plan = reads.plan_queue(query, me="nobody", sort=sort)
    sql, params = reads.queue_page_sql(plan, limit=50)
    with workspace.reading() as connection:
        return [row[3] for row in connection.execute(f"EXPLAIN QUERY PLAN {sql}", params)]


@pytest.mark.parametrize(
    "query",
    [
        "status<solved",
        "status<solved created>30d",
        "status<solved channel:social,chat",
        "status:open,new,pending,on_hold",
    ],
)
def test_unsolved_queues_walk_their_own_index(million_stats: Workspace, query: str) -> None:
    steps = plan_steps(million_stats, query)
    assert any("ix_ticket_unsolved_updated" in step for step in steps), steps
    assert not any("TEMP B-TREE FOR ORDER BY" in step for step in steps), steps


@pytest.mark.parametrize(
    "query",
    ["assignee:me status<solved tag:refund", "assignee:me status<solved created>30d", "assignee:none status<solved"],
)
def test_one_agents_unsolved_queue_walks_only_their_unsolved_tickets(million_stats: Workspace, query: str) -> None:
    """'My open' with a filter that matches less than a page: not every ticket the agent ever had."""
    steps = plan_steps(million_stats, query)
    assert any("ix_ticket_unsolved_assignee" in step for step in steps), steps
    assert not any("TEMP B-TREE FOR ORDER BY" in step for step in steps), steps


def test_the_unsolved_statuses_are_written_like_the_index_condition() -> None:
    for query in ("status<solved", "status<=on_hold", "status:on_hold,pending,open,new"):
        compiled = compile_query(query)
        assert compiled.unsolved == "t.status IN ('new', 'open', 'pending', 'on_hold')"
        # the worklist's first condition is the index's, word for word (snoozed tickets are left
        # out by a second one, checked on the rows the index gives)
        assert compiled.where.startswith("(t.status IN ('new', 'open', 'pending', 'on_hold')) AND ")
    assert compile_query("status:pending").unsolved == "t.status IN ('pending')"
    assert compile_query("status:solved").unsolved is None
    assert compile_query("-status:new").unsolved is None


@pytest.mark.parametrize(
    ("query", "sort"),
    [
        ("status<solved refund", None),
        ("status:new,open the", None),
        ("status:pending refund -tag:spam", None),
        ("status<solved password", "relevance"),
        ("status<solved refund priority>=high", None),
    ],
)
def test_text_inside_unsolved_statuses_finds_what_the_plain_filter_finds(
    million_stats: Workspace, query: str, sort: str | None
) -> None:
    plan = reads.plan_queue(query, me="nobody", sort=sort)
    steps = plan_steps(million_stats, query, sort)
    assert any("LIST SUBQUERY" in step for step in steps), steps  # the unsolved set, gathered once
    compiled = plan.compiled
    with million_stats.reading() as connection:
        expected = {
            row[0]
            for row in connection.execute(
                f"SELECT t.id FROM ticket t WHERE {compiled.where} "
                "AND t.rowid IN (SELECT rowid FROM ticket_fts WHERE ticket_fts MATCH :fts)",
                {**compiled.params, "fts": compiled.fts},
            )
        }
        shown: list[str] = []
        after = None
        while True:
            page = reads.queue_page(connection, plan, after=after, limit=7)
            shown += [row.id for row in page.rows]
            if not page.more:
                break
            after = page.next_cursor
        assert expected, query  # the demo has matches: the test compares something
        assert sorted(shown) == sorted(expected) and len(shown) == len(set(shown))
        assert reads.queue_count(connection, plan) == len(expected)
