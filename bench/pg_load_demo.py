"""Load a workspace (``supportdesk demo``) into a fresh PostgreSQL server database with COPY.

Usage: python bench/pg_load_demo.py WORKSPACE postgresql://…/dbname [--fresh] [--copies N]

Not a product command: it moves the rows a workspace and a team server share, for benchmarks of
the server at scale (issue 13: "load the demo into PostgreSQL with COPY; say how long that
takes"). Phases, each timed:

1. **schema**: the server's own migrations on the empty database (``open_database``), so the
   tables, types and indexes are exactly a server's.
2. **drop**: the secondary indexes and foreign keys of the tables to be loaded are dropped
   (primary keys and UNIQUE constraints stay, so duplicates still fail); triggers are switched
   off for the session (``session_replication_role = replica``).
3. **copy**: for every table both databases have and the workspace holds rows of, the columns
   both have stream from SQLite into ``COPY … FROM STDIN`` (psycopg 3, text format). SQLite's
   times are UTC text (``YYYY-MM-DD HH:MM:SS.ffffff``): the session's ``TimeZone`` is UTC, so
   PostgreSQL reads them as ``timestamptz`` unchanged; booleans are 0/1, which ``boolean``
   accepts; JSON columns are text, which ``json``/``jsonb`` parse; a NUL in text (PostgreSQL
   refuses it) stops the load naming the table and column.
4. **index**: every dropped index is built again (each timed: the GIN indexes are most of it),
   foreign keys are added back (each validated by one join), sequences moved past the loaded ids.
5. **derived**: tables a migration fills from others (PostgreSQL's ticket search documents) are
   rebuilt from the loaded rows, as the migration would, then laid out in their tickets' id
   (time) order, as a server writes them (``CLUSTER``).
6. **analyze**: ``VACUUM ANALYZE`` (statistics for the planner, the visibility map for
   index-only scans).

``--copies N`` loads the tickets, their messages and their requesters (customers, identities) N
times, each copy re-keyed (every id of those tables, and every column referring to one, becomes a
UUID hashed from the copy's number and the original — a UUIDv7 of the moved-back time when the
original is one, so ids still grow with time as a server's do; ticket numbers offset; an address
gets ``+N`` before its ``@``) and its times moved back N × 37 s, so that copies interleave in time:
a 1M-ticket database from the 100k demo, when building the 1M demo itself takes hours on a
loaded machine. Word frequencies are the demo's (a word in 15 % of tickets stays so).

What is not copied: the workspace's own tables that have no server counterpart (FTS5 and vector
tables, SQLite's internals) and every table the workspace leaves empty (outbox, sync cursors, the
server's change log, tokens). The server database therefore answers reads (REST, search) over
the workspace's tickets, but has no change log: a replica bootstrapping from it gets a snapshot
of the tables, and the first change pulled is the first write made after the load.
"""

from __future__ import annotations

import argparse
import hashlib
import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

#: Tables never copied: migration bookkeeping, which the schema phase wrote already.
SKIPPED = frozenset({"alembic_version"})

#: Rows per batch read from SQLite.
BATCH = 5000


class Phases:
    """Wall-clock seconds per phase, printed as they finish."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        yield
        elapsed = time.perf_counter() - started
        self.seconds[name] = self.seconds.get(name, 0.0) + elapsed
        print(f"  {name}: {elapsed:.1f} s", flush=True)


def sqlite_columns(source: sqlite3.Connection) -> dict[str, list[str]]:
    tables = [
        row[0]
        for row in source.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND sql NOT LIKE 'CREATE VIRTUAL%'"
        )
    ]
    return {table: [row[1] for row in source.execute(f'PRAGMA table_info("{table}")')] for table in tables}


def pg_columns(target: Any) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for table, column in target.execute(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = 'public' ORDER BY table_name, ordinal_position"
    ):
        found.setdefault(table, []).append(column)
    return found


def secondary_indexes(target: Any, tables: list[str]) -> list[tuple[str, str]]:
    """(name, definition) of indexes on ``tables`` that no constraint owns."""
    return list(
        target.execute(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = 'public' "
            "AND i.tablename = ANY(%s) AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
            "WHERE c.conindid = (quote_ident(i.indexname))::regclass) ORDER BY i.indexname",
            (tables,),
        )
    )


def foreign_keys(target: Any, tables: list[str]) -> list[tuple[str, str, str]]:
    """(table, name, definition) of the foreign keys from or to ``tables``."""
    return list(
        target.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE contype = 'f' AND (conrelid::regclass::text = ANY(%s) OR confrelid::regclass::text = ANY(%s))",
            (tables, tables),
        )
    )


#: Tables ``--copies`` repeats: a ticket with what search reads of it.
REPEATED = ("ticket", "message", "customer", "identity")


class Rekey:
    """How copy ``number`` of a row of ``table`` differs from the original (see ``--copies``)."""

    def __init__(self, number: int, table: str, columns: list[str], references: set[tuple[str, str]]) -> None:
        self.number = number
        self.keys = [i for i, c in enumerate(columns) if c == "id" or (table, c) in references]
        self.times = [i for i, c in enumerate(columns) if c.endswith("_at")]
        self.ticket_number = columns.index("number") if table == "ticket" and "number" in columns else None
        self.address = columns.index("value") if table == "identity" else None

    def key(self, original: str) -> str:
        """The copy's id for ``original``: a hash of the two, and — when ``original`` is a UUIDv7,
        as every id the product makes is — a UUIDv7 itself, of its time moved back as the copy's
        times are. A server's ids grow with time, so the newest tickets' keys sit side by side in
        every index on them; hashed ids scattered them, and the walk of the newest tickets that
        answers a common word then touched a different index page per ticket (bench/README,
        pgphrase13)."""
        digest = bytearray(hashlib.md5(f"{self.number}:{original}".encode(), usedforsecurity=False).digest())
        try:
            parsed = uuid.UUID(original)
        except ValueError:
            return str(uuid.UUID(bytes=bytes(digest)))
        if parsed.version != 7:
            return str(uuid.UUID(bytes=bytes(digest)))
        millis = max(0, (parsed.int >> 80) - 37_000 * self.number)
        digest[0:6] = millis.to_bytes(6, "big")
        digest[6] = 0x70 | (digest[6] & 0x0F)  # version 7
        digest[8] = 0x80 | (digest[8] & 0x3F)  # RFC 4122 variant
        return str(uuid.UUID(bytes=bytes(digest)))

    def __call__(self, row: tuple[Any, ...]) -> list[Any]:
        from datetime import timedelta

        from supportdesk.store.times import from_db, to_db

        values = list(row)
        for i in self.keys:
            if isinstance(values[i], str):
                values[i] = self.key(values[i])
        for i in self.times:
            if isinstance(values[i], str):
                instant = from_db(values[i])
                assert instant is not None
                values[i] = to_db(instant - timedelta(seconds=37 * self.number))
        if self.ticket_number is not None and values[self.ticket_number] is not None:
            values[self.ticket_number] += 10_000_000 * self.number
        if self.address is not None:
            local, at, domain = str(values[self.address]).partition("@")
            values[self.address] = f"{local}+{self.number}{at}{domain}"
        return values


def copy_table(
    source: sqlite3.Connection, target: Any, table: str, columns: list[str], rekey: Rekey | None = None
) -> int:
    quoted = ", ".join(f'"{c}"' for c in columns)
    rows = 0
    with target.cursor() as cursor, cursor.copy(f'COPY "{table}" ({quoted}) FROM STDIN') as copy:
        reader = source.execute(f'SELECT {quoted} FROM "{table}"')
        while batch := reader.fetchmany(BATCH):
            for row in batch:
                for value, column in zip(row, columns, strict=True):
                    if isinstance(value, str) and "\x00" in value:
                        raise SystemExit(f"{table}.{column} holds a NUL character, which PostgreSQL refuses")
                copy.write_row(rekey(row) if rekey else row)
            rows += len(batch)
    return rows


def move_sequences(target: Any) -> None:
    """Every serial/identity column's sequence past the largest id loaded."""
    for table, column, sequence in target.execute(
        "SELECT c.table_name, c.column_name, pg_get_serial_sequence(quote_ident(c.table_name), c.column_name) "
        "FROM information_schema.columns c WHERE c.table_schema = 'public' "
        "AND pg_get_serial_sequence(quote_ident(c.table_name), c.column_name) IS NOT NULL"
    ).fetchall():
        target.execute(
            f'SELECT setval(%s, coalesce((SELECT max("{column}") FROM "{table}"), 0) + 1, false)', (sequence,)
        )


def load(workspace: Path, url: str, copies: int = 1) -> None:
    import psycopg

    from supportdesk.server.db import open_database

    phases = Phases()
    with phases.phase("schema (migrations)"):
        open_database(url).dispose()
    source = sqlite3.connect(f"file:{workspace / 'supportdesk.db'}?mode=ro", uri=True)
    plain_url = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain_url, autocommit=True) as target:
        target.execute("SET TimeZone = 'UTC'")
        target.execute("SET maintenance_work_mem = '512MB'")
        theirs, ours = sqlite_columns(source), pg_columns(target)
        only_workspace = sorted(set(theirs) - set(ours))
        only_server = sorted(set(ours) - set(theirs))
        print(f"workspace-only tables (not copied): {', '.join(only_workspace) or '-'}")
        print(f"server-only tables (left empty): {', '.join(only_server) or '-'}")
        generated = {
            (table, column)
            for table, column in target.execute(
                "SELECT table_name, column_name FROM information_schema.columns "
                "WHERE table_schema = 'public' AND is_generated = 'ALWAYS'"
            )
        }
        loaded: dict[str, list[str]] = {}
        for table in sorted(set(theirs) & set(ours) - SKIPPED):
            if source.execute(f'SELECT 1 FROM "{table}" LIMIT 1').fetchone() is None:
                continue
            if target.execute(f'SELECT 1 FROM "{table}" LIMIT 1').fetchone() is not None:
                print(f"  {table}: the server's migrations filled it already; kept as they left it")
                continue
            columns = [c for c in ours[table] if c in theirs[table] and (table, c) not in generated]
            missing = sorted(c for c in set(ours[table]) - set(theirs[table]) if (table, c) not in generated)
            if missing:
                print(f"  {table}: server columns the workspace lacks (defaults): {', '.join(missing)}")
            loaded[table] = columns
        tables = list(loaded)
        with phases.phase("drop indexes and foreign keys"):
            indexes = secondary_indexes(target, tables)
            keys = foreign_keys(target, tables)
            references = {
                (table, column.strip('"'))
                for table, _name, definition in keys
                if any(f"REFERENCES {other}(" in definition for other in REPEATED)
                for column in definition.split("(", 1)[1].split(")", 1)[0].split(", ")
            }
            for table, name, _definition in keys:
                target.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
            for name, _definition in indexes:
                target.execute(f'DROP INDEX "{name}"')
        counts: dict[str, int] = {}
        with phases.phase("copy"):
            target.execute("SET session_replication_role = replica")
            for table in sorted(tables):
                started = time.perf_counter()
                with target.transaction():
                    counts[table] = copy_table(source, target, table, loaded[table])
                    for number in range(1, copies if table in REPEATED else 1):
                        rekey = Rekey(number, table, loaded[table], references)
                        counts[table] += copy_table(source, target, table, loaded[table], rekey)
                elapsed = time.perf_counter() - started
                print(f"    {table}: {counts[table]:,} rows in {elapsed:.1f} s", flush=True)
            target.execute("SET session_replication_role = origin")
        with phases.phase("indexes, foreign keys, sequences"):
            for name, definition in indexes:
                started = time.perf_counter()
                target.execute(definition)
                print(f"    {name}: {time.perf_counter() - started:.1f} s", flush=True)
            for table, name, definition in keys:
                target.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')
            move_sequences(target)
            # the server numbers new tickets from its counter (seeded at 0 by the migrations)
            target.execute(
                "UPDATE counter SET value = (SELECT coalesce(max(number), 0) FROM ticket) WHERE name = 'ticket_number'"
            )
        with phases.phase("derived tables"):
            rebuild_derived(target)
        with phases.phase("vacuum analyze"):
            target.execute("VACUUM ANALYZE")
        size = target.execute("SELECT pg_size_pretty(pg_database_size(current_database()))").fetchone()
        print(f"database size: {size[0] if size else '?'}")
        for table, total, indexes_size in target.execute(
            "SELECT relname, pg_size_pretty(pg_total_relation_size(oid)), pg_size_pretty(pg_indexes_size(oid)) "
            "FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace "
            "ORDER BY pg_total_relation_size(oid) DESC LIMIT 8"
        ):
            print(f"  {table}: {total} (indexes {indexes_size})")
    print(f"total: {sum(phases.seconds.values()):.1f} s")


def rebuild_derived(target: Any) -> None:
    """Tables the migrations fill from others: rebuilt from what was just copied."""
    exists = target.execute("SELECT to_regclass('public.ticket_search') IS NOT NULL").fetchone()
    if not (exists and exists[0]):
        return
    indexes = secondary_indexes(target, ["ticket_search"])
    for name, _definition in indexes:
        target.execute(f'DROP INDEX "{name}"')
    started = time.perf_counter()
    target.execute("SELECT supportdesk_rebuild_ticket_search()")
    print(f"    ticket_search documents: {time.perf_counter() - started:.1f} s", flush=True)
    # in the order of their tickets' ids (UUIDv7: time), as a server writes them, so that the
    # newest tickets' documents share pages as they do there
    started = time.perf_counter()
    target.execute("CLUSTER ticket_search USING ticket_search_pkey")
    print(f"    ticket_search in id order: {time.perf_counter() - started:.1f} s", flush=True)
    for name, definition in indexes:
        started = time.perf_counter()
        target.execute(definition)
        print(f"    {name}: {time.perf_counter() - started:.1f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("workspace", type=Path)
    parser.add_argument("url", help="postgresql://…/dbname")
    parser.add_argument("--fresh", action="store_true", help="Drop and create the database first.")
    parser.add_argument("--copies", type=int, default=1, help="Load tickets and requesters this many times.")
    options = parser.parse_args()
    if options.fresh:
        import psycopg

        base, name = options.url.rsplit("/", 1)
        with psycopg.connect(base + "/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{name}"')
    load(options.workspace, options.url, options.copies)


if __name__ == "__main__":
    main()
