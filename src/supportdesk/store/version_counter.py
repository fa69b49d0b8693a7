"""What the database's trigger-kept counters have in common (``config_version``, ``token_version``).

Each is a one-row table whose number the database itself adds one to whenever the tables a
process keeps copies of change, so a process learns it must read again by asking for one
number. Both are made, bumped and dropped the same way; only what they watch differs, and that
stays in :mod:`supportdesk.store.config_version` and :mod:`supportdesk.store.token_version`.
The first value is random, so a database file replaced by another does not by chance carry the
number a process remembers from the old one.
"""

from __future__ import annotations


def table_statements(table: str, dialect: str) -> list[str]:
    """The one-row table and its random first value (SQLite's form may run again harmlessly)."""
    if dialect == "postgresql":
        return [
            f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, value BIGINT NOT NULL)",
            f"INSERT INTO {table} (id, value) VALUES (1, CAST(floor(random() * 1000000000000) AS BIGINT))",
        ]
    return [
        f"CREATE TABLE IF NOT EXISTS {table} (id INTEGER PRIMARY KEY, value INTEGER NOT NULL)",
        f"INSERT OR IGNORE INTO {table} (id, value) VALUES (1, abs(random() % 1000000000000))",
    ]


def bump(table: str) -> str:
    """The statement that adds one (the body of SQLite's triggers and PostgreSQL's function)."""
    return f"UPDATE {table} SET value = value + 1 WHERE id = 1;"


def sqlite_trigger_body(table: str) -> str:
    return f"BEGIN {bump(table)} END"


def pg_function_statement(function: str, table: str, then: str = "") -> str:
    """PostgreSQL's trigger function: the bump, then ``then`` (more PL/pgSQL, e.g. a NOTIFY)."""
    return (
        f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $body$ BEGIN "
        f"{bump(table)} {then}RETURN NULL; END $body$"
    )


def trigger_name(table: str, watched: str, op: str = "") -> str:
    """``<counter>_<watched table>[_<operation>]``: the names migrations and repairs look for."""
    return f"{table}_{watched}" + (f"_{op.lower()}" if op else "")
