"""``~"…"`` in the query language: parsed as a term of its own, refused clearly where nothing
can answer it (the server), and compiled to a set the other terms combine with."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest

from supportdesk.store import semantic
from supportdesk.store.query import QueryError, compile_query, parse


@pytest.fixture
def no_resolver() -> Iterator[None]:
    saved = list(semantic._resolver)
    semantic.set_resolver(None)
    yield
    semantic._resolver[:] = saved


def test_a_tilde_phrase_is_a_semantic_term() -> None:
    query = parse('~"money taken twice" status:open -~"spam \\"offers\\""')
    (first, second) = query.semantic
    assert (first.values, first.negated) == (("money taken twice",), False)
    assert (second.values, second.negated) == (('spam "offers"',), True)
    assert [t.field for t in query.filters] == ["~", "status", "~"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("~money", "takes a quoted phrase"),
        ('~""', "needs something to look for"),
        ('~"   "', "needs something to look for"),
        ('~"unterminated', "unterminated quote"),
        ('~"a"b', "separated by spaces"),
        ("~" + '"' + "x" * 301 + '"', "too long"),
    ],
)
def test_malformed_semantic_terms_are_query_errors(text: str, message: str) -> None:
    with pytest.raises(QueryError, match=message):
        parse(text)


def test_without_the_assist_engine_or_on_the_server_it_is_refused(no_resolver: None) -> None:
    with pytest.raises(QueryError, match="by meaning"):
        compile_query('~"refund"')
    semantic.set_resolver(lambda _connection, _text: [])
    with pytest.raises(QueryError, match="by meaning"):
        compile_query('~"refund"', dialect="postgresql")
    assert "semantic_rowids" in compile_query('~"refund" status:open').where


def test_the_term_is_a_set_the_other_terms_narrow(no_resolver: None) -> None:
    """The SQL function the term compiles to, answered by a stand-in for the assist layer (the
    real one is tested in tests/assist/test_semantic_term.py): only the set logic is checked."""
    connection = sqlite3.connect(":memory:")
    # snoozed_until: a query kept to unsolved statuses leaves snoozed tickets out (is:snoozed)
    connection.execute("CREATE TABLE ticket (id TEXT, status TEXT, snoozed_until TEXT)")
    connection.executemany("INSERT INTO ticket VALUES (?, ?, NULL)", [("a", "open"), ("b", "solved"), ("c", "open")])
    asked: list[str] = []

    def answer(_connection: sqlite3.Connection, text: str) -> list[int]:
        asked.append(text)
        return [1, 2]

    semantic.set_resolver(answer)
    semantic.install(connection)

    def ids(query: str) -> list[str]:
        compiled = compile_query(query)
        return [r[0] for r in connection.execute(f"SELECT t.id FROM ticket t WHERE {compiled.where}", compiled.params)]

    assert ids('~"refund"') == ["a", "b"]
    assert ids('~"refund" status:open') == ["a"]
    assert ids('-~"refund"') == ["c"]
    assert asked == ["refund", "refund", "refund"]  # once per statement, not once per row
