"""A phrase search's pages on PostgreSQL (``server.routes.tickets.page_rows``): the bounded walk
over the newest tickets, and the GIN index asked when the walk falls short, give exactly the pages
the plain statement gives — page after page through the cursors, for every agent's view.

Why the walk is bounded (issue 13): the planner counts a phrase as its words in any order, so
``"help quick"`` — two common words that never stand in that order — was walked newest first
through every ticket of a million, about 4 s (bench/README.md, "Phrases in PostgreSQL").
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, text
from sqlalchemy.engine import Connection

from supportdesk.domain.tx import table
from supportdesk.server.db import ServerDatabase
from supportdesk.server.routes import tickets
from supportdesk.store.ids import uuid7 as new_id
from supportdesk.store.query import compile_query
from tests.server.test_pg_ticket_search import customer, message
from tests.server.test_pg_ticket_search import database as database

pytestmark = pytest.mark.integration

#: Ticket n's words: every third holds the phrase "quick help", the others both words apart.
TICKETS = 40
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

QUERIES = [
    '"quick help"',  # in a third of the tickets
    '"help quick"',  # in none, though every ticket holds both words
    '"quick help" please',
    'quick "help please"',
    '"quick he*"',
    '"quick help" -"help please"',
    '"quick help" priority:high',
]

#: An admin's view, and a narrower one (as an agent's group condition would be).
VIEWS: list[tuple[str, dict[str, Any]]] = [("1 = 1", {}), ("(t.priority = :vis_p)", {"vis_p": "high"})]


def body(n: int) -> str:
    return "quick help please" if n % 3 == 0 else "help me please, and be quick"


def fill(database: ServerDatabase) -> None:
    with database.engine.begin() as connection:
        requester = customer(connection, "Pat", "pat@example.com")
        for n in range(TICKETS):
            ticket_id = new_id()
            created = START + timedelta(minutes=n // 2)  # pairs share a time: the id decides
            connection.execute(
                insert(table("ticket")).values(
                    id=ticket_id,
                    subject=f"Ticket {n}",
                    requester_id=requester,
                    fields={},
                    priority="high" if n % 4 < 2 else "normal",
                    created_at=created,
                    updated_at=created,
                )
            )
            message(connection, ticket_id, body(n))


def every_page(
    connection: Connection, query: str, view: tuple[str, dict[str, Any]], limit: int, plain: bool
) -> list[list[str]]:
    """The subjects of every page, following the cursors, by ``page_rows`` or by the plain statement
    (``sort:relevance`` ranking the newest ``tickets.RELEVANCE_POOL`` matches, as ``page_rows`` does)."""
    compiled = compile_query(query, dialect="postgresql")
    pages: list[list[str]] = []
    after = None
    subject = tickets.ticket_fields.columns(rest=True).index("subject")
    while True:
        if plain:
            sql, params, _sort = tickets.page_sql(
                compiled, view[0], view[1], after, limit, "postgresql", tickets.RELEVANCE_POOL
            )
            found = list(connection.execute(text(sql), params).all())
        else:
            found, _sort = tickets.page_rows(connection, compiled, view[0], view[1], after, limit, "postgresql")
        pages.append([row[subject] for row in found[:limit]])
        if len(found) <= limit:
            return pages
        after = tickets._encode_after(found[limit - 1][-1], found[limit - 1][0])


@pytest.mark.parametrize(("walk", "most"), [(1, 1), (1, 6), (4, 4), (4, 13), (7, 30), (1000, 1000)])
def test_walked_or_from_the_index_a_phrase_gives_the_plain_statements_pages(
    database: ServerDatabase, monkeypatch: pytest.MonkeyPatch, walk: int, most: int
) -> None:
    """Every path: the first walk fills the page, the second does, or neither and the index
    answers (a walk of 1 and at most 6 finds a page of 3 only when the phrase is dense there)."""
    fill(database)
    monkeypatch.setattr(tickets, "PHRASE_WALK", walk)
    monkeypatch.setattr(tickets, "PHRASE_WALK_MOST", most)
    with database.read_engine.connect() as connection, connection.begin():
        for query in QUERIES:
            assert compile_query(query, dialect="postgresql").phrase, query
            for view in VIEWS:
                for limit in (1, 3, 50):
                    expected = every_page(connection, query, view, limit, plain=True)
                    assert every_page(connection, query, view, limit, plain=False) == expected, (query, view, limit)


def test_the_pages_hold_what_the_phrase_means(database: ServerDatabase, monkeypatch: pytest.MonkeyPatch) -> None:
    """Not only equal to the plain statement: right (a third of the tickets, newest first)."""
    fill(database)
    monkeypatch.setattr(tickets, "PHRASE_WALK", 4)
    with database.read_engine.connect() as connection, connection.begin():
        pages = every_page(connection, '"quick help"', VIEWS[0], 5, plain=False)
        assert sorted(s for page in pages for s in page) == sorted(f"Ticket {n}" for n in range(TICKETS) if n % 3 == 0)
        assert pages[0][0] == "Ticket 39"
        assert every_page(connection, '"help quick"', VIEWS[0], 5, plain=False) == [[]]


@pytest.mark.parametrize(("walk", "most", "pool"), [(1, 1, 1), (4, 13, 2), (4, 4, 5), (7, 30, 12), (1000, 1000, 1000)])
def test_ranked_by_relevance_a_phrase_gives_the_plain_statements_pages(
    database: ServerDatabase, monkeypatch: pytest.MonkeyPatch, walk: int, most: int, pool: int
) -> None:
    """``sort:relevance`` ranks the newest ``pool`` matches: found by the walks or the index, they
    are the ones the plain statement ranks, and every page through the cursors is the same."""
    fill(database)
    monkeypatch.setattr(tickets, "PHRASE_WALK", walk)
    monkeypatch.setattr(tickets, "PHRASE_WALK_MOST", most)
    monkeypatch.setattr(tickets, "RELEVANCE_POOL", pool)
    with database.read_engine.connect() as connection, connection.begin():
        for query in [f"{q} sort:relevance" for q in QUERIES]:
            assert tickets.ranks_phrase(compile_query(query, dialect="postgresql"), "relevance", "postgresql")
            for view in VIEWS:
                for limit in (1, 3, 50):
                    expected = every_page(connection, query, view, limit, plain=True)
                    assert every_page(connection, query, view, limit, plain=False) == expected, (query, view, limit)
                    if (limit, view) == (50, VIEWS[0]) and pool >= TICKETS and query.startswith('"quick help" sort'):
                        assert sorted(expected[0]) == sorted(f"Ticket {n}" for n in range(TICKETS) if n % 3 == 0)


def test_a_ranked_phrase_far_back_is_asked_of_the_index(
    database: ServerDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """By relevance, with a walk of at most 7 tickets: ``"quick help"`` (39 and 36 among the newest
    four, 33 the seventh) fills a pool of 2 or 3 there, which is ranked in the same statement;
    for a pool of 4, and for ``"help quick"`` (both words in every ticket, the phrase in none),
    the pool is asked of the GIN index."""
    from sqlalchemy import event

    fill(database)
    monkeypatch.setattr(tickets, "PHRASE_WALK_MOST", 7)
    ran: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        ranks, from_index = "ts_rank" in statement, "interval '0 seconds'" in statement
        walked = "count(*) OVER ()" in statement and "LIMIT 7) t WHERE" in statement
        ran.append(
            "ranked from a walk"
            if ranks and walked
            else "ranked from the index"
            if ranks and from_index
            else statement[:80]
        )

    def first_page(query: str, pool: int) -> list[str]:
        ran.clear()
        monkeypatch.setattr(tickets, "RELEVANCE_POOL", pool)
        compiled = compile_query(f"{query} sort:relevance", dialect="postgresql")
        found, sort = tickets.page_rows(connection, compiled, "1 = 1", {}, None, 10, "postgresql")
        assert sort == "relevance"
        names = tickets.ticket_fields.columns(rest=True)
        assert all(len(row) == len(names) + 1 and isinstance(row[-1], float) for row in found)
        return sorted(row[names.index("subject")] for row in found)

    with database.read_engine.connect() as connection, connection.begin():
        event.listen(connection, "before_cursor_execute", seen)
        assert first_page('"quick help"', 2) == ["Ticket 36", "Ticket 39"]
        assert ran == ["ranked from a walk"]
        assert first_page('"quick help"', 3) == ["Ticket 33", "Ticket 36", "Ticket 39"]
        assert ran == ["ranked from a walk"]
        assert first_page('"quick help"', 4) == ["Ticket 30", "Ticket 33", "Ticket 36", "Ticket 39"]
        assert ran == ["ranked from a walk", "ranked from the index"]
        assert first_page('"help quick"', 3) == []
        assert ran == ["ranked from a walk", "ranked from the index"]


def test_only_a_newest_first_phrase_search_on_postgresql_walks() -> None:
    phrase = compile_query('"quick help"', dialect="postgresql")
    assert tickets.walks_phrase(phrase, "created-desc", "postgresql")
    assert not tickets.walks_phrase(phrase, "updated-desc", "postgresql")
    assert not tickets.walks_phrase(phrase, "relevance", "postgresql")
    assert tickets.ranks_phrase(phrase, "relevance", "postgresql")
    assert not tickets.ranks_phrase(phrase, "created-desc", "postgresql")
    assert not tickets.ranks_phrase(compile_query("quick help", dialect="postgresql"), "relevance", "postgresql")
    assert not tickets.walks_phrase(compile_query("quick help", dialect="postgresql"), "created-desc", "postgresql")
    assert not tickets.walks_phrase(compile_query("help*", dialect="postgresql"), "created-desc", "postgresql")
    assert not tickets.walks_phrase(compile_query('"quick help"'), "created-desc", "sqlite")


def test_each_way_to_a_page_is_taken_where_it_should_be(
    database: ServerDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Walks of 4 then at most 13: a dense phrase fills its page from the first walk, a sparser
    one from a second walk sized by what the first found, and one in no ticket is asked of the
    index."""
    import re

    from sqlalchemy import event

    fill(database)
    monkeypatch.setattr(tickets, "PHRASE_WALK", 4)
    monkeypatch.setattr(tickets, "PHRASE_WALK_MOST", 13)
    ran: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        walked = re.search(r"LIMIT (\d+)\) t WHERE", statement)
        ran.append(f"walk {walked.group(1)}" if walked else "index" if "interval '0 seconds'" in statement else "?")

    def first_page(query: str, limit: int) -> list[str]:
        ran.clear()
        compiled = compile_query(query, dialect="postgresql")
        found, _sort = tickets.page_rows(connection, compiled, "1 = 1", {}, None, limit, "postgresql")
        subject = tickets.ticket_fields.columns(rest=True).index("subject")
        return [row[subject] for row in found[:limit]]

    with database.read_engine.connect() as connection, connection.begin():
        event.listen(connection, "before_cursor_execute", seen)
        # "be quick" ends tickets 38 and 37 among the newest four: a page of one is there
        assert first_page('"be quick"', 1) == ["Ticket 38"]
        assert ran == ["walk 4"]
        # "quick help": 39 and 36 among the newest four; a page of three needs four matches,
        # so 1.5 × 4 × 4 / 2 = 12 tickets are walked next (39, 36, 33, 30 among them)
        assert first_page('"quick help"', 3) == ["Ticket 39", "Ticket 36", "Ticket 33"]
        assert ran == ["walk 4", "walk 12"]
        # in no ticket: nothing among the newest four, so the index is asked at once
        assert first_page('"help quick"', 3) == []
        assert ran == ["walk 4", "index"]
        # "quick help" again with a page of five: the second walk (at most 13) falls short too
        assert first_page('"quick help"', 5) == ["Ticket 39", "Ticket 36", "Ticket 33", "Ticket 30", "Ticket 27"]
        assert ran == ["walk 4", "walk 13", "index"]
        # a page of seven needs eight: at the first walk's share (two in four) that is 16 tickets,
        # more than the second walk may take, so the index is asked at once
        assert first_page('"quick help"', 7)[-1] == "Ticket 21"
        assert ran == ["walk 4", "index"]
