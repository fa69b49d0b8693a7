"""Bulk loading: drop secondary indexes and FTS triggers, insert, then build them once.

Inserting a million rows into a table with eight secondary indexes whose keys arrive in random
order (``(status, updated_at, id)`` …) thrashes the page cache; building each index once from
sorted data afterwards is several times faster. The demo generator and the sync bootstrap use
this; ordinary writes never do.

An import (``ticket.import_many``) keeps the indexes but pauses the full-text triggers on
insert for each chunk of tickets and indexes the chunk once after its rows
(:func:`pause_insert_indexing`, :func:`index_and_resume`).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from supportdesk.store import fts, rollup

BULK_TABLES = ("ticket", "message", "ticket_tag", "audit_event", "customer", "identity", "ticket_seen")


@contextmanager
def bulk_load(connection: sqlite3.Connection, tables: tuple[str, ...] = BULK_TABLES) -> Iterator[None]:
    """Run inside an open write transaction; indexes and FTS are rebuilt before it commits.

    Only indexes with a ``CREATE INDEX`` statement are dropped: the automatic ones behind
    primary keys and UNIQUE constraints stay, so constraints are still enforced while loading.
    """
    placeholders = ",".join("?" * len(tables))
    saved = connection.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
        f"AND tbl_name IN ({placeholders}) ORDER BY name",
        tables,
    ).fetchall()
    for name, _sql in saved:
        connection.execute(f'DROP INDEX "{name}"')
    fts.drop_triggers(connection)
    rollup.drop_triggers(connection)
    yield
    for _name, sql in saved:
        connection.execute(sql)
    fts.rebuild_and_restore(connection)
    rollup.rebuild_and_restore(connection)
    # Fresh statistics: with several indexes on ticket, the planner needs them to pick well.
    connection.execute("PRAGMA analysis_limit=1000")
    connection.execute("ANALYZE")


#: The triggers an insert of a ticket, a message, a customer or an identity fires: the full-text
#: index's, and the assist index's on a customer's message (it forgets the ticket's stored
#: vectors, which a new ticket does not have; measured on a 10k import its cost per message grew
#: from ~20 to ~100 µs as the workspace filled, five times SQLite's own insert).
INSERT_TRIGGERS = (
    "fts_ticket_ai",
    "fts_message_bi",
    "fts_message_ai",
    "fts_customer_ai",
    "fts_identity_bi",
    "fts_identity_ai",
    "assist_message_ai",
)

#: ``IN`` a JSON list bound as one parameter: any number of ids, one statement.
_IDS = "(SELECT value FROM json_each(?))"


def pause_insert_indexing(connection: sqlite3.Connection) -> list[str]:
    """Stop indexing inserted tickets, messages, customers and identities, inside an open write
    transaction, for a chunk of *new* tickets that :func:`index_and_resume` indexes once; returns
    the triggers' definitions, for :func:`index_and_resume` to restore.

    With the triggers live, each message inserted takes its ticket's whole document out of the
    index and puts it back with one more message: a ticket of *n* messages is indexed *n* + 1
    times. Dropped and re-created inside the writing transaction, the triggers are gone for no
    other writer (the write lock is held) and come back if the transaction is rolled back.
    Only inserts of new tickets' rows may happen until :func:`index_and_resume`: the update and
    delete triggers stay, and they expect the old rows to be in the index.
    """
    marks = ",".join("?" * len(INSERT_TRIGGERS))
    paused = [
        str(row[0])
        for row in connection.execute(
            f"SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name IN ({marks}) ORDER BY name", INSERT_TRIGGERS
        )
    ]
    for name in INSERT_TRIGGERS:
        connection.execute(f"DROP TRIGGER IF EXISTS {name}")
    return paused


def index_and_resume(
    connection: sqlite3.Connection, paused: list[str], *, tickets: list[str], customers: list[str]
) -> None:
    """Index the documents of ``tickets`` and ``customers`` — new rows, inserted since
    :func:`pause_insert_indexing` — and restore the triggers it ``paused``.

    The identities inserted meanwhile must belong to ``customers`` (new customers), whose
    tickets must be among ``tickets``: a new row of anything else would be missed.
    """
    if tickets:
        connection.execute(
            "INSERT INTO ticket_fts(rowid, subject, body, people) SELECT rowid, subject, body, people "
            f"FROM ticket_doc WHERE rowid IN (SELECT rowid FROM ticket WHERE id IN {_IDS})",
            (json.dumps(tickets),),
        )
    if customers:
        connection.execute(
            "INSERT INTO customer_fts(rowid, name, identities) SELECT rowid, name, identities "
            f"FROM customer_doc WHERE rowid IN (SELECT rowid FROM customer WHERE id IN {_IDS})",
            (json.dumps(customers),),
        )
    for definition in paused:
        connection.execute(definition)
