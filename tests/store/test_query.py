"""The query language: what parses, what fails (with a position), and that SQL never errors."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from supportdesk.store import reads
from supportdesk.store.query import QueryError, compile_query, parse
from supportdesk.store.sla import NO_DEADLINE_DB
from supportdesk.store.times import to_db, utcnow
from supportdesk.store.workspace import Workspace


def test_the_documented_examples_parse() -> None:
    query = parse(
        "status:open,pending -status:solved priority>=high tag:billing -tag:spam assignee:me "
        "assignee:none group:tier2 channel:email requester:alice@example.com org:acme type:incident "
        'created>7d updated<2h created>2026-01-01 number:1042 "exact phrase" free words sort:updated-desc'
    )
    fields = [t.field for t in query.terms]
    assert fields[:6] == ["status", "status", "priority", "tag", "tag", "assignee"]
    assert query.terms[1].negated and query.terms[1].values == ("solved",)
    assert query.sort == "updated-desc"
    texts = [t for t in query.terms if t.field is None]
    assert [(t.values[0], t.phrase) for t in texts] == [("exact phrase", True), ("free", False), ("words", False)]


@pytest.mark.parametrize(
    ("text", "position", "expected"),
    [
        ("status:bogus", 8, "one of new, open"),
        ("foo:bar", 1, "one of status"),
        ('"unterminated', 1, 'a closing "'),
        ("priority>", 10, "a value"),
        ("tag>x", 4, "one of :"),
        ("created>7x", 9, "an age such as 30m"),
        ("number:abc", 8, "digits"),
        ("sort:sideways", 6, "one of updated-desc"),
        ("created:7d", 8, "created<7d (newer)"),
        ('status:open"x"', 12, "a comma list or one quoted value"),
    ],
)
def test_errors_name_the_position_and_what_was_expected(text: str, position: int, expected: str) -> None:
    with pytest.raises(QueryError) as caught:
        parse(text)
    assert f"at position {position}" in str(caught.value)
    assert expected in str(caught.value)


def test_values_are_bound_parameters_never_sql() -> None:
    compiled = compile_query('requester:"x\' OR 1=1 --" tag:a,b', me="agent-1")
    assert "OR 1=1" not in compiled.where
    assert "x' or 1=1 --" in compiled.params.values()


def test_free_text_is_quoted_for_fts() -> None:
    compiled = compile_query('refund "card declined" AND NEAR( "col:x" x* -spam')
    assert compiled.fts == '"refund" AND "card declined" AND "AND" AND "NEAR(" AND "col:x" AND "x" *'


def test_relative_times_are_ages(demo_workspace: Workspace) -> None:
    with demo_workspace.reading() as connection:
        older = reads.queue_count(connection, reads.plan_queue("created>7d"))
        newer = reads.queue_count(connection, reads.plan_queue("created<7d"))
        total = connection.execute("SELECT count(*) FROM ticket").fetchone()[0]
    assert older > 0 and newer > 0
    assert older + newer == total


def test_filters_select_what_they_say(demo_workspace: Workspace) -> None:
    with demo_workspace.reading() as connection:

        def numbers(query: str) -> set[int]:
            page = reads.queue_page(connection, reads.plan_queue(query), limit=1000)
            return {r.number for r in page.rows if r.number is not None}

        def column(sql: str) -> set[int]:
            return {row[0] for row in connection.execute(sql)}

        assert numbers("status:pending") == column("SELECT number FROM ticket WHERE status = 'pending'")
        assert numbers("-status:closed,solved") == column(
            "SELECT number FROM ticket WHERE status NOT IN ('closed', 'solved')"
        )
        assert numbers("status<solved") == numbers("status:new,open,pending,on_hold")
        assert numbers("priority>=high") == column("SELECT number FROM ticket WHERE priority IN ('high', 'urgent')")
        assert numbers("tag:refund") == column(
            "SELECT t.number FROM ticket t JOIN ticket_tag g ON g.ticket_id = t.id WHERE g.tag = 'refund'"
        )
        assert numbers("-tag:refund") == column("SELECT number FROM ticket") - numbers("tag:refund")
        assert numbers("assignee:none") == column("SELECT number FROM ticket WHERE assignee_id IS NULL")
        assert numbers('group:"tier 2"') == column(
            "SELECT t.number FROM ticket t JOIN groups g ON g.id = t.group_id WHERE g.name = 'Tier 2'"
        )
        assert numbers("channel:chat type:incident") == column(
            "SELECT number FROM ticket WHERE channel = 'chat' AND type = 'incident'"
        )
        assert numbers("number:5,7") == {5, 7}
        assert numbers("number>=599") == column("SELECT number FROM ticket WHERE number >= 599")
        email = connection.execute("SELECT value FROM identity WHERE kind = 'email' LIMIT 1").fetchone()[0]
        assert numbers(f"requester:{email}") == column(
            f"SELECT t.number FROM ticket t JOIN identity i ON i.customer_id = t.requester_id WHERE i.value = '{email}'"
        )
        refunds = numbers("refund")
        assert refunds and refunds <= column(
            "SELECT DISTINCT t.number FROM ticket t LEFT JOIN message m ON m.ticket_id = t.id "
            "WHERE lower(t.subject) LIKE '%refund%' OR lower(m.body) LIKE '%refund%'"
        )
        assert numbers("refund -refund") == set()
        assert numbers('"exactly this phrase nowhere"') == set()


def test_keyset_pages_walk_the_whole_result_in_order(demo_workspace: Workspace) -> None:
    with demo_workspace.reading() as connection:
        for sort in ("updated-desc", "created-asc", "priority-desc", "subject-asc", "requester-asc", "newest"):
            plan = reads.plan_queue("", sort=sort)
            everything = reads.queue_page(connection, plan, limit=1000).rows
            walked, cursor = [], None
            while True:
                page = reads.queue_page(connection, plan, after=cursor, limit=37)
                walked.extend(page.rows)
                if not page.more:
                    break
                cursor = page.rows[-1].cursor
            assert [r.id for r in walked] == [r.id for r in everything], sort
            assert len(walked) == reads.queue_count(connection, plan)
            backwards = reads.queue_page(connection, plan, limit=20, reverse=True).rows
            assert [r.id for r in backwards] == [r.id for r in everything[-20:]], sort
        anchors = reads.queue_anchors(connection, reads.plan_queue(""), every=100)
        first_rows = reads.queue_page(connection, reads.plan_queue(""), limit=1000).rows
        assert [a[-1] for a in anchors] == [r.id for r in first_rows[::100]]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.one_of(
        st.text(max_size=80),
        st.lists(
            st.sampled_from(
                [
                    "status:",
                    "-",
                    "tag:",
                    "priority>=",
                    "created>",
                    "updated<",
                    "sort:",
                    '"',
                    "*",
                    ",",
                    "open",
                    "high",
                    "7d",
                    "2026-01-01",
                    "refund",
                    "NEAR(",
                    "AND",
                    "OR",
                    "NOT",
                    "^",
                    ":",
                    "me",
                    "none",
                    "assignee:",
                    "number:",
                    "12",
                    " ",
                    "'",
                    ";",
                    "--",
                    "(",
                    ")",
                    "\\",
                    "\x00",
                    "é",
                    "sla:",
                    "breached",
                    "paused",
                    "due<",
                    "due>",
                    "1h",
                    "sla-asc",
                    "<",
                    ">",
                ]
            ),
            max_size=12,
        ).map("".join),
    )
)
def test_any_string_parses_or_fails_cleanly_and_never_breaks_sql(demo_workspace: Workspace, text: str) -> None:
    try:
        plan = reads.plan_queue(text, me="nobody")
    except QueryError as error:
        assert 0 <= error.position <= len(text) + 1
        return
    with demo_workspace.reading() as connection:
        try:
            reads.queue_page(connection, plan, limit=5)
            reads.queue_count(connection, plan)
        except sqlite3.Error as error:  # pragma: no cover - this is the failure being tested for
            pytest.fail(f"{text!r} produced a SQL error: {error}")


def test_sla_filters_select_what_they_say(demo_workspace: Workspace) -> None:
    now = utcnow()
    with demo_workspace.reading() as connection:

        def numbers(query: str) -> set[int]:
            plan = reads.plan_queue(compile_query(query, now=now))
            return {r.number for r in reads.queue_page(connection, plan, limit=1000).rows if r.number}

        def column(where: str, *params: object) -> set[int]:
            sql = f"SELECT t.number FROM ticket t JOIN ticket_timing s ON s.ticket_id = t.id WHERE {where}"
            return {row[0] for row in connection.execute(sql, params)}

        assert numbers("sla:breached") == column("s.breach_at <= ?", to_db(now)) != set()
        assert numbers("sla:paused") == column("s.paused") != set()
        assert numbers("sla:none") == column("s.policy_id IS NULL")
        assert numbers("sla:active") == column("s.due_at < ?", NO_DEADLINE_DB) != set()
        due_soon = numbers("sla:due<1h")
        assert due_soon == column("s.due_at <= ?", to_db(now + timedelta(hours=1)))
        assert numbers("sla:due>1h") == numbers("sla:active") - due_soon
        assert numbers("sla:breached,paused") == numbers("sla:breached") | numbers("sla:paused")
        assert numbers("-sla:breached status<solved") == numbers("status<solved") - numbers("sla:breached")


def test_sorting_by_time_to_breach_walks_every_ticket_in_deadline_order(demo_workspace: Workspace) -> None:
    with demo_workspace.reading() as connection:
        for sort in ("sla-asc", "sla-desc"):
            plan = reads.plan_queue("status<solved", sort=sort)
            walked, cursor = [], None
            while True:
                page = reads.queue_page(connection, plan, after=cursor, limit=40)
                walked.extend(page.rows)
                if not page.more:
                    break
                cursor = page.rows[-1].cursor
            assert len(walked) == reads.queue_count(connection, reads.plan_queue("status<solved"))
            keys = [r.cursor for r in walked]
            assert keys == sorted(keys, reverse=sort.endswith("desc"))
        first = reads.queue_page(connection, reads.plan_queue("status<solved sort:sla-asc"), limit=1).rows[0]
        soonest = connection.execute(
            "SELECT min(s.due_at) FROM ticket_timing s JOIN ticket t ON t.id = s.ticket_id "
            "WHERE t.status IN ('new', 'open', 'pending', 'on_hold')"
        ).fetchone()[0]
        assert first.cursor[0] == soonest
        # the plan of the very statement a page runs: the due index, no Bloom filter over tickets
        executed: list[str] = []
        connection.set_trace_callback(executed.append)
        reads.queue_page(connection, reads.plan_queue("status<solved tag:billing", sort="sla-asc"), limit=50)
        connection.set_trace_callback(None)
        explained = [row[-1] for row in connection.execute("EXPLAIN QUERY PLAN " + executed[-1])]
        assert any("ix_ticket_timing_due" in step for step in explained), explained
        assert not any("BLOOM" in step for step in explained), explained


@pytest.mark.parametrize(
    ("query", "sort"),
    [
        ("", "updated-desc"),
        ("", "created-asc"),
        ("", "priority-desc"),
        ("assignee:me", "updated-desc"),
        ("refund", None),  # free text: newest first, read from the FTS index in rowid order
        ("refund status:open", None),
        ('"card declined"', "newest"),
    ],
)
def test_indexed_sorts_never_sort_the_whole_result(demo_workspace: Workspace, query: str, sort: str | None) -> None:
    """A page must be an index walk that stops after the page, not a sort of every match."""
    plan = reads.plan_queue(query, me="nobody", sort=sort)
    with demo_workspace.reading() as connection:
        first = reads.queue_page(connection, plan, limit=5)
        for after in (None, first.rows[-1].cursor if first.rows else None):
            sql, params = reads.queue_page_sql(plan, after=after, limit=5)
            steps = [row[3] for row in connection.execute(f"EXPLAIN QUERY PLAN {sql}", params)]
            assert not any("TEMP B-TREE FOR ORDER BY" in step for step in steps), steps
