"""Attack on PostgreSQL search (issue 13): the limits of a ``tsvector``, as the README states them.

A word is numbered at most 16,383 in a document: past it single words are still found, a phrase
is not. A word longer than PostgreSQL indexes (2,047 bytes) and a query of only such words find
nothing and fail nothing, negated or not; a huge query compiles to bound parameters only.
"""

from __future__ import annotations

import pytest

from supportdesk.server.db import ServerDatabase
from tests.server.test_pg_ticket_search import customer, found, message, ticket

# the server conftest's ``database``, on PostgreSQL only (its search documents are PostgreSQL's)
pytestmark = [pytest.mark.integration, pytest.mark.parametrize("database", ["postgresql"], indirect=True)]


def test_words_past_the_last_position_are_found_alone_not_as_a_phrase(database: ServerDatabase) -> None:
    with database.engine.begin() as connection:
        requester = customer(connection, "Gil", "gil@example.com")
        filler = " ".join(f"w{n}" for n in range(17_000))  # distinct words, as a long log is
        long_one = ticket(connection, "Log dump", requester, filler)
        message(connection, long_one, "quick brown")
        short = ticket(connection, "Short", requester, "quick brown")
        assert found(connection, "brown") == {long_one, short}
        assert found(connection, '"quick brown"') == {short}  # the long ticket's is past 16,383


def test_words_too_long_to_index_find_nothing_and_fail_nothing(database: ServerDatabase) -> None:
    with database.engine.begin() as connection:
        requester = customer(connection, "Hal", "hal@example.com")
        blob = "\u0436" * 1100  # 2,200 bytes: longer than PostgreSQL indexes a word
        kept = ticket(connection, "Blob", requester, f"{blob} tail")
        assert found(connection, "tail") == {kept}
        assert found(connection, blob) == set()
        assert found(connection, f"{blob}*") == set()
        assert found(connection, f'"{blob} tail"') == {kept}  # the long word is left out of both
        assert found(connection, f"-{blob}") == {kept}
        many = " ".join(f"w{n}*" for n in range(300))  # near the parser's 2,000 characters
        assert found(connection, many) == set()


def test_many_words_are_one_lookup_of_the_documents(database: ServerDatabase) -> None:
    """Every free-text word of a query is one tsquery against the documents (FTS5 gets one MATCH):
    a condition per word made a semi-join per word, and fifty times a word found in every ticket
    ran for minutes on 20,000 tickets (attack13) — any caller of ``GET /v1/tickets`` could ask it."""
    from sqlalchemy import text

    from supportdesk.store.query import compile_query

    with database.engine.begin() as connection:
        # before: planning 250 words' semi-joins alone ran for minutes on two tickets
        connection.execute(text("SET LOCAL statement_timeout = '30s'"))
        requester = customer(connection, "Ida", "ida@example.com")
        both = ticket(connection, "Printer jam", requester, "the printer jams again")
        one = ticket(connection, "Printer ok", requester, "the printer works")
        assert found(connection, " ".join(["printer"] * 250)) == {both, one}
        assert found(connection, "printer jam*") == {both}
        assert found(connection, 'printer "jams again" -works') == {both}
        assert found(connection, "printer -works -nothing") == {both}
        assert found(connection, "-jams -works") == set()
        for query in (" ".join(["printer"] * 250), " ".join(f"w{n}* -v{n}" for n in range(150))):
            compiled = compile_query(query, dialect="postgresql")
            plan = connection.execute(
                text(f"EXPLAIN SELECT t.id FROM ticket t WHERE {compiled.where}"), compiled.params
            )
            lookups = sum(line.count("ticket_search") for (line,) in plan)
            assert lookups <= 2, query[:40]  # one for the words, one for the words left out
