"""Statements run on the driver's cursor (:mod:`supportdesk.store.prepared`) read and write
exactly what SQLAlchemy's ``Connection.execute`` does, on SQLite and on PostgreSQL.

Each case runs the same statement both ways in one transaction and compares the values and
their Python types (``True == 1`` would hide a Boolean read back as an integer).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError, StatementError

from supportdesk.protocol import MutationIn
from supportdesk.server import admin
from supportdesk.server.app import create_app
from supportdesk.server.apply import apply_push
from supportdesk.server.db import ServerDatabase, open_database
from supportdesk.server.tokens import load_actor
from supportdesk.store import prepared
from supportdesk.store.column_types import AutoString, UTCDateTime
from supportdesk.store.core_tables import every_table
from tests.live import server_database

pytestmark = pytest.mark.integration

probe_metadata = MetaData()
#: one column of each type the store uses, and the kinds of default an INSERT may leave out
probe = Table(
    "prepared_probe",
    probe_metadata,
    Column("id", Integer(), primary_key=True, autoincrement=False),
    Column("label", AutoString(length=200), nullable=True),
    Column("body", Text(), nullable=True),
    Column("code", String(length=40), nullable=True),
    Column("flag", Boolean(), nullable=True),
    Column("ratio", Float(), nullable=True),
    Column("big", BigInteger(), nullable=True),
    Column("doc", JSON(), nullable=True),
    Column("at", UTCDateTime(), nullable=True),
    Column("count", Integer(), nullable=False, default=7),
    Column("made_at", UTCDateTime(), nullable=False, default=lambda: datetime(2024, 2, 29, 12, 0, tzinfo=UTC)),
)
WHEN = datetime(2024, 2, 29, 12, 0, tzinfo=UTC)
SELECT_BY_ID = select(probe).where(probe.c.id == bindparam("pk_id"))
SELECT_ALL = select(probe).order_by(probe.c.id)
INSERT = insert(probe)
SELECT_IN = (
    select(probe).where(probe.c.id.in_(bindparam("ids", expanding=True))).where(probe.c.body != bindparam("not_body"))
)
UPDATE_BODY = update(probe).where(probe.c.id == bindparam("pk_id")).values(body=bindparam("v_body"))

HOSTILE_TEXTS = [
    "plain",
    "",
    "?",
    "? ?? ?1",
    "%s %d %%",
    "%(x)s %(pk_id)s",
    ":name :1 $1",
    "it's \"quoted\" `back` \\ ';--",
    "emoji 🎫👍🏽 and ünïcødé ✓",
    "a\x00b",  # PostgreSQL refuses NUL in text: both paths must refuse it alike
    "x" * 1_000_000,
]

VALUE_SETS: list[dict[str, Any]] = [{"label": text, "body": text, "code": text[:40]} for text in HOSTILE_TEXTS] + [
    {"flag": True, "ratio": 0.1, "big": 2**62, "doc": {"a": [1, 2, {"b": None}], "u": "ünïcødé ✓ 🎫"}},
    {"flag": False, "ratio": -1e300, "big": -(2**62), "doc": None},
    {"flag": None, "ratio": 3.0, "big": 0, "doc": []},
    {"doc": "just a string", "ratio": None},
    {"doc": 0},
    {"doc": {"deep": [[[{"x": "?"}]]], "%s": ":name"}},
    {"at": datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)},
    {"at": datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=5, minutes=30)))},
    {"at": datetime(2024, 1, 2, 3, 4, 5)},  # no zone: whatever UTCDateTime does, both do
    {"at": None, "count": 0, "made_at": datetime(1999, 12, 31, 23, 59, 59, tzinfo=UTC)},
    {},
]


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ServerDatabase]:
    with server_database(request.param, tmp_path) as url:
        opened = open_database(url)
        with opened.engine.begin() as connection:
            probe_metadata.create_all(connection)
        try:
            yield opened
        finally:
            opened.dispose()


def typed(row: dict[str, Any] | None) -> Any:
    """A row with each value's type beside it."""
    if row is None:
        return None
    return {key: (type(value).__name__, value) for key, value in row.items()}


def outcome(action: Callable[[], Any]) -> Any:
    """What ``action`` returned, or the SQLAlchemy exception class it raised."""
    try:
        return ("returned", action())
    except (DBAPIError, StatementError) as error:
        return ("raised", type(error).__name__, type(getattr(error, "orig", None)).__name__)


def insert_with_sqlalchemy(connection: Connection, values: dict[str, Any]) -> None:
    connection.execute(INSERT, values)


def insert_with_driver(connection: Connection, values: dict[str, Any]) -> None:
    prepared.execute(connection, INSERT, values)


def in_savepoint(
    connection: Connection, write: Callable[[Connection, dict[str, Any]], None], values: dict[str, Any]
) -> Any:
    """The outcome of ``write`` in a savepoint, rolled back if it failed (PostgreSQL's
    transaction is unusable after an error otherwise)."""
    savepoint = connection.begin_nested()
    result = outcome(lambda: write(connection, values))
    if result[0] == "raised":
        savepoint.rollback()
    else:
        savepoint.commit()
    return result


def sqlalchemy_row(connection: Connection, key: int) -> dict[str, Any] | None:
    found = connection.execute(SELECT_BY_ID, {"pk_id": key}).mappings().first()
    return dict(found) if found is not None else None


def test_each_type_is_written_and_read_as_sqlalchemy_does(database: ServerDatabase) -> None:
    with database.engine.begin() as connection:
        for number, values in enumerate(VALUE_SETS):
            by_sqlalchemy, by_driver = 2 * number, 2 * number + 1
            wrote_sqlalchemy = in_savepoint(connection, insert_with_sqlalchemy, {"id": by_sqlalchemy, **values})
            wrote_driver = in_savepoint(connection, insert_with_driver, {"id": by_driver, **values})
            assert wrote_driver == wrote_sqlalchemy, values
            expected = sqlalchemy_row(connection, by_sqlalchemy)
            read_back = sqlalchemy_row(connection, by_driver)
            if expected is not None:
                assert read_back is not None
                expected["id"] = read_back["id"] = None
            assert typed(read_back) == typed(expected), values
            # and the driver's read of either row is SQLAlchemy's
            for key in (by_sqlalchemy, by_driver):
                assert typed(prepared.first(connection, SELECT_BY_ID, {"pk_id": key})) == typed(
                    sqlalchemy_row(connection, key)
                )
        every_sqlalchemy = [dict(row) for row in connection.execute(SELECT_ALL).mappings()]
        every_driver = prepared.every(connection, SELECT_ALL, {})
        assert [typed(row) for row in every_driver] == [typed(row) for row in every_sqlalchemy]
        assert len(every_driver) >= len(VALUE_SETS)


def test_hostile_text_round_trips_unchanged(database: ServerDatabase) -> None:
    with database.engine.begin() as connection:
        for key, text in enumerate(HOSTILE_TEXTS):
            if "\x00" in text and database.is_postgres:
                continue  # refused alike: the test above
            prepared.execute(connection, INSERT, {"id": key, "label": text[:200], "body": text, "doc": {"t": text}})
            prepared.execute(connection, UPDATE_BODY, {"pk_id": key, "v_body": text + "?"})
            row = prepared.first(connection, SELECT_BY_ID, {"pk_id": key})
            assert row is not None
            assert (row["body"], row["doc"]) == (text + "?", {"t": text})
            assert sqlalchemy_row(connection, key) == row


def test_executemany_writes_every_row(database: ServerDatabase) -> None:
    rows = [{"id": n, "body": f"row {n} ?", "flag": n % 2 == 0, "doc": {"n": n}} for n in range(5)]
    with database.engine.begin() as connection:
        prepared.execute_many(connection, INSERT, rows)
        prepared.execute_many(connection, UPDATE_BODY, [{"pk_id": n, "v_body": f"new {n} %s"} for n in (1, 3)])
    with database.engine.connect() as connection:
        read = [dict(row) for row in connection.execute(SELECT_ALL).mappings()]
    assert [(r["id"], r["body"], r["flag"], r["doc"], r["count"]) for r in read] == [
        (0, "row 0 ?", True, {"n": 0}, 7),
        (1, "new 1 %s", False, {"n": 1}, 7),
        (2, "row 2 ?", True, {"n": 2}, 7),
        (3, "new 3 %s", False, {"n": 3}, 7),
        (4, "row 4 ?", True, {"n": 4}, 7),
    ]


def test_a_rolled_back_savepoint_takes_the_driver_s_writes_with_it(database: ServerDatabase) -> None:
    with database.engine.begin() as connection:
        prepared.execute(connection, INSERT, {"id": 1, "body": "kept"})
        savepoint = connection.begin_nested()
        prepared.execute(connection, INSERT, {"id": 2, "body": "dropped"})
        prepared.execute(connection, UPDATE_BODY, {"pk_id": 1, "v_body": "changed"})
        assert prepared.first(connection, SELECT_BY_ID, {"pk_id": 2}) is not None
        savepoint.rollback()
        assert prepared.first(connection, SELECT_BY_ID, {"pk_id": 2}) is None
        assert [r["body"] for r in prepared.every(connection, SELECT_ALL, {})] == ["kept"]
    with database.engine.begin() as connection:
        prepared.execute(connection, INSERT, {"id": 3, "body": "rolled back"})
        connection.rollback()
    with database.engine.connect() as connection:
        assert [row.body for row in connection.execute(SELECT_ALL)] == ["kept"]


def test_a_driver_error_is_sqlalchemy_s_error(database: ServerDatabase) -> None:
    with database.engine.begin() as connection:
        prepared.execute(connection, INSERT, {"id": 1})
        with pytest.raises(IntegrityError):
            prepared.execute(connection, INSERT, {"id": 1})
    with database.engine.begin() as connection, pytest.raises(StatementError):
        prepared.execute(connection, UPDATE_BODY, {"v_body": "no key"})


def test_outside_a_transaction_sqlalchemy_begins_it(database: ServerDatabase) -> None:
    """The first statement of a connection goes through SQLAlchemy, whose autobegin (and, on
    SQLite, its ``BEGIN IMMEDIATE``) must come first; then the driver's cursor is used."""
    seen: list[str] = []
    with database.engine.connect() as connection, prepared.count_statements(seen.append):
        prepared.execute(connection, INSERT, {"id": 1, "body": "first"})
        assert connection.in_transaction()
        prepared.execute(connection, INSERT, {"id": 2, "body": "second"})
        connection.commit()
    assert len(seen) == 1
    with database.engine.connect() as connection:
        assert [row.body for row in connection.execute(SELECT_ALL)] == ["first", "second"]


def test_every_store_table_reads_as_sqlalchemy_reads_it(database: ServerDatabase) -> None:
    """After a few real mutations, every table of the store read both ways: the same rows."""
    agent_id = admin.add_agent(database, "Ada", "ada@example.com", "admin", [])
    with database.engine.connect() as connection:
        actor = load_actor(connection, str(agent_id))
    assert actor is not None
    state = create_app(database).state.server
    hooks = {"before_write": state.before_write, "after_write": state.after_write, "after_commit": state.after_commit}
    created = apply_push(
        database,
        actor,
        "c",
        [
            MutationIn(
                id=1, name="ticket.create", args={"subject": "S ?", "body": "b %s", "requester": {"value": "c@x.test"}}
            )
        ],
        **hooks,
    )
    ticket_id = created[0].result["ticket_id"]
    more = [
        ("ticket.reply", {"ticket_id": ticket_id, "body": "reply :name 🎫"}),
        ("ticket.note", {"ticket_id": ticket_id, "body": "note"}),
        ("ticket.set_priority", {"ticket_id": ticket_id, "priority": "high"}),
        ("ticket.tag", {"ticket_id": ticket_id, "tags": ["vip", "billing"]}),
        ("ticket.set_status", {"ticket_id": ticket_id, "status": "solved"}),
    ]
    outcomes = apply_push(
        database,
        actor,
        "c",
        [MutationIn(id=n + 2, name=name, args=args) for n, (name, args) in enumerate(more)],
        **hooks,
    )
    assert all(o.ok for o in outcomes), outcomes
    compared = 0
    run_by_driver: list[str] = []
    tables = every_table().sorted_tables
    with database.engine.begin() as connection, prepared.count_statements(run_by_driver.append):
        connection.exec_driver_sql("SELECT 1")  # begun, so the driver's cursor runs what follows
        for table in tables:
            statement = select(table)
            expected = [typed(dict(row)) for row in connection.execute(statement).mappings()]
            assert [typed(row) for row in prepared.every(connection, statement, {})] == expected, table.name
            compared += len(expected)
    assert compared > 10
    assert len(run_by_driver) == len(tables)


def test_an_in_list_is_expanded_as_sqlalchemy_expands_it(database: ServerDatabase) -> None:
    seen: list[str] = []
    with database.engine.begin() as connection, prepared.count_statements(seen.append):
        prepared.execute_many(
            connection,
            INSERT,
            [{"id": n, "body": f"b{n} ?", "at": datetime(2024, 1, n + 1, tzinfo=UTC)} for n in range(6)],
        )
        for ids in ([1], [0, 2, 4], [5, 3, 1], [9], [], list(range(6))):
            params = {"ids": ids, "not_body": "b3 ?"}
            expected = [typed(dict(row)) for row in connection.execute(SELECT_IN, params).mappings()]
            assert sorted(map(repr, (typed(r) for r in prepared.every(connection, SELECT_IN, params)))) == sorted(
                map(repr, expected)
            ), ids
    assert len(seen) == 1 + 5  # the insert and each list but the empty one (SQLAlchemy's own)


# --- SQL written by the caller (run_sql): what text() binds and returns, on the driver's cursor


def text_rows(connection: Connection, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in connection.execute(text(sql), params)]


def test_caller_sql_binds_and_returns_what_text_does(database: ServerDatabase) -> None:
    """Values bound as given and rows as the driver's tuples, as ``text()`` (which knows no
    column types) does: hostile values (``?``, ``%s``, quotes, emoji) stay values."""
    when = datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    with database.engine.begin() as connection:
        for key, value in enumerate(t for t in HOSTILE_TEXTS if "\x00" not in t):
            prepared.run_sql(
                connection,
                "INSERT INTO prepared_probe (id, body, label, count, made_at) VALUES (?, ?, ?, 7, ?)",
                (key, value, "x%", WHEN),
            )
            got = prepared.run_sql(
                connection, "SELECT id, body, label FROM prepared_probe WHERE id = ?", (key,), fetch=True
            )
            assert got == text_rows(connection, "SELECT id, body, label FROM prepared_probe WHERE id = :k", {"k": key})
            assert got == [(key, value, "x%")]
        # a datetime written both ways is stored the same (the driver adapts it either way)
        connection.execute(text("UPDATE prepared_probe SET at = :w WHERE id = 0"), {"w": when})
        prepared.run_sql(connection, "UPDATE prepared_probe SET at = ? WHERE id = 1", (when,))
        (first,), (second,) = (
            prepared.run_sql(connection, f"SELECT at FROM prepared_probe WHERE id = {n}", fetch=True)[0] for n in (0, 1)
        )
        assert first == second
        # RETURNING: the row comes back, and the statement is finished (SQLite) once it has
        assert prepared.run_sql(
            connection, "UPDATE prepared_probe SET big = 40 + ? WHERE id = ? RETURNING big", (2, 0), fetch=True
        ) == [(42,)]
        # an executemany of value tuples
        prepared.run_sql(
            connection,
            "INSERT INTO prepared_probe (id, body, count, made_at) VALUES (?, ?, 7, ?)",
            [(100, "a?", WHEN), (101, "%s", WHEN)],
            many=True,
        )
        assert prepared.run_sql(
            connection, "SELECT body FROM prepared_probe WHERE id IN (?, ?) ORDER BY id", (100, 101), fetch=True
        ) == [("a?",), ("%s",)]


def test_caller_sql_errors_and_its_first_statement_are_sqlalchemy_s(database: ServerDatabase) -> None:
    seen: list[str] = []
    with database.engine.connect() as connection, prepared.count_statements(seen.append):
        prepared.run_sql(
            connection, "INSERT INTO prepared_probe (id, body, count, made_at) VALUES (?, ?, 7, ?)", (1, "first", WHEN)
        )
        assert connection.in_transaction() and seen == []  # SQLAlchemy began it and ran it
        prepared.run_sql(
            connection, "INSERT INTO prepared_probe (id, body, count, made_at) VALUES (?, ?, 7, ?)", (2, "second", WHEN)
        )
        assert len(seen) == 1
        savepoint = connection.begin_nested()
        with pytest.raises(IntegrityError):
            prepared.run_sql(
                connection,
                "INSERT INTO prepared_probe (id, body, count, made_at) VALUES (?, ?, 7, ?)",
                (1, "again", WHEN),
            )
        savepoint.rollback()
        connection.commit()
    with database.engine.connect() as connection:
        assert [row.body for row in connection.execute(SELECT_ALL)] == ["first", "second"]
