"""Full-text search on SQLite: FTS5 indexes kept in step by triggers.

A ticket is indexed as one document: its subject, every message body in order, and the
requester's name and addresses. The document is a view, used as the FTS5 external content, so
the text is not stored twice. Triggers delete a document's old tokens *before* a change (while
the view still shows the old text) and index the new text after it, inside the same
transaction as the write. Customers and knowledge-base articles get indexes of their own.

Bulk loaders (the demo generator, a bootstrap) drop the triggers, insert, then rebuild the
indexes in one pass: :func:`drop_triggers` / :func:`rebuild_and_restore`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

TOKENIZER = "unicode61 remove_diacritics 2"

VIEWS = (
    """
    CREATE VIEW IF NOT EXISTS ticket_doc AS
    SELECT t.rowid AS rowid,
           t.subject AS subject,
           (SELECT group_concat(body, char(10))
              FROM (SELECT m.body AS body FROM message m
                     WHERE m.ticket_id = t.id ORDER BY m.rowid)) AS body,
           (SELECT c.name FROM customer c WHERE c.id = t.requester_id) || char(10) ||
           coalesce((SELECT group_concat(value, ' ')
              FROM (SELECT i.value AS value FROM identity i
                     WHERE i.customer_id = t.requester_id ORDER BY i.rowid)), '') AS people
      FROM ticket t
    """,
    """
    CREATE VIEW IF NOT EXISTS customer_doc AS
    SELECT c.rowid AS rowid,
           c.name AS name,
           coalesce((SELECT group_concat(value, ' ')
              FROM (SELECT i.value AS value FROM identity i
                     WHERE i.customer_id = c.id ORDER BY i.rowid)), '') AS identities
      FROM customer c
    """,
)

TABLES = (
    f"""CREATE VIRTUAL TABLE IF NOT EXISTS ticket_fts USING fts5(
        subject, body, people, content='ticket_doc', content_rowid='rowid',
        tokenize='{TOKENIZER}')""",
    f"""CREATE VIRTUAL TABLE IF NOT EXISTS customer_fts USING fts5(
        name, identities, content='customer_doc', content_rowid='rowid',
        tokenize='{TOKENIZER}')""",
    f"""CREATE VIRTUAL TABLE IF NOT EXISTS kb_fts USING fts5(
        title, body, tags, content='kb_article', content_rowid='rowid',
        tokenize='{TOKENIZER}')""",
)


def _ticket_out(where: str) -> str:
    return (
        "INSERT INTO ticket_fts(ticket_fts, rowid, subject, body, people) "
        f"SELECT 'delete', rowid, subject, body, people FROM ticket_doc WHERE {where};"
    )


def _ticket_in(where: str) -> str:
    return (
        "INSERT INTO ticket_fts(rowid, subject, body, people) "
        f"SELECT rowid, subject, body, people FROM ticket_doc WHERE {where};"
    )


def _customer_out(where: str) -> str:
    return (
        "INSERT INTO customer_fts(customer_fts, rowid, name, identities) "
        f"SELECT 'delete', rowid, name, identities FROM customer_doc WHERE {where};"
    )


def _customer_in(where: str) -> str:
    return (
        "INSERT INTO customer_fts(rowid, name, identities) "
        f"SELECT rowid, name, identities FROM customer_doc WHERE {where};"
    )


def _of_ticket(ticket_id: str) -> str:
    return f"rowid = (SELECT rowid FROM ticket WHERE id = {ticket_id})"


def _of_requester(customer_id: str) -> str:
    return f"rowid IN (SELECT rowid FROM ticket WHERE requester_id = {customer_id})"


def _of_customer(customer_id: str) -> str:
    return f"rowid = (SELECT rowid FROM customer WHERE id = {customer_id})"


TRIGGERS: dict[str, str] = {
    # tickets
    "fts_ticket_ai": f"AFTER INSERT ON ticket BEGIN {_ticket_in('rowid = new.rowid')} END",
    "fts_ticket_bd": f"BEFORE DELETE ON ticket BEGIN {_ticket_out('rowid = old.rowid')} END",
    "fts_ticket_bu": (f"BEFORE UPDATE OF subject, requester_id ON ticket BEGIN {_ticket_out('rowid = old.rowid')} END"),
    "fts_ticket_au": (f"AFTER UPDATE OF subject, requester_id ON ticket BEGIN {_ticket_in('rowid = new.rowid')} END"),
    # messages
    "fts_message_bi": (f"BEFORE INSERT ON message BEGIN {_ticket_out(_of_ticket('new.ticket_id'))} END"),
    "fts_message_ai": (f"AFTER INSERT ON message BEGIN {_ticket_in(_of_ticket('new.ticket_id'))} END"),
    "fts_message_bd": (f"BEFORE DELETE ON message BEGIN {_ticket_out(_of_ticket('old.ticket_id'))} END"),
    "fts_message_ad": (f"AFTER DELETE ON message BEGIN {_ticket_in(_of_ticket('old.ticket_id'))} END"),
    "fts_message_bu": (
        "BEFORE UPDATE OF body, ticket_id ON message BEGIN "
        + _ticket_out("rowid IN (SELECT rowid FROM ticket WHERE id IN (old.ticket_id, new.ticket_id))")
        + " END"
    ),
    "fts_message_au": (
        "AFTER UPDATE OF body, ticket_id ON message BEGIN "
        + _ticket_in("rowid IN (SELECT rowid FROM ticket WHERE id IN (old.ticket_id, new.ticket_id))")
        + " END"
    ),
    # customers
    "fts_customer_ai": f"AFTER INSERT ON customer BEGIN {_customer_in('rowid = new.rowid')} END",
    "fts_customer_bd": f"BEFORE DELETE ON customer BEGIN {_customer_out('rowid = old.rowid')} END",
    "fts_customer_bu": (
        "BEFORE UPDATE OF name ON customer BEGIN "
        f"{_customer_out('rowid = old.rowid')} {_ticket_out(_of_requester('old.id'))} END"
    ),
    "fts_customer_au": (
        "AFTER UPDATE OF name ON customer BEGIN "
        f"{_customer_in('rowid = new.rowid')} {_ticket_in(_of_requester('new.id'))} END"
    ),
    # identities feed both the customer's document and their tickets' documents
    "fts_identity_bi": (
        "BEFORE INSERT ON identity BEGIN "
        f"{_customer_out(_of_customer('new.customer_id'))} "
        f"{_ticket_out(_of_requester('new.customer_id'))} END"
    ),
    "fts_identity_ai": (
        "AFTER INSERT ON identity BEGIN "
        f"{_customer_in(_of_customer('new.customer_id'))} "
        f"{_ticket_in(_of_requester('new.customer_id'))} END"
    ),
    "fts_identity_bd": (
        "BEFORE DELETE ON identity BEGIN "
        f"{_customer_out(_of_customer('old.customer_id'))} "
        f"{_ticket_out(_of_requester('old.customer_id'))} END"
    ),
    "fts_identity_ad": (
        "AFTER DELETE ON identity BEGIN "
        f"{_customer_in(_of_customer('old.customer_id'))} "
        f"{_ticket_in(_of_requester('old.customer_id'))} END"
    ),
    "fts_identity_bu": (
        "BEFORE UPDATE OF value, customer_id ON identity BEGIN "
        + _customer_out("rowid IN (SELECT rowid FROM customer WHERE id IN (old.customer_id, new.customer_id))")
        + " "
        + _ticket_out("rowid IN (SELECT rowid FROM ticket WHERE requester_id IN (old.customer_id, new.customer_id))")
        + " END"
    ),
    "fts_identity_au": (
        "AFTER UPDATE OF value, customer_id ON identity BEGIN "
        + _customer_in("rowid IN (SELECT rowid FROM customer WHERE id IN (old.customer_id, new.customer_id))")
        + " "
        + _ticket_in("rowid IN (SELECT rowid FROM ticket WHERE requester_id IN (old.customer_id, new.customer_id))")
        + " END"
    ),
    # knowledge base: a plain external-content index
    "fts_kb_ai": (
        "AFTER INSERT ON kb_article BEGIN "
        "INSERT INTO kb_fts(rowid, title, body, tags) "
        "VALUES (new.rowid, new.title, new.body, new.tags); END"
    ),
    "fts_kb_bd": (
        "BEFORE DELETE ON kb_article BEGIN "
        "INSERT INTO kb_fts(kb_fts, rowid, title, body, tags) "
        "VALUES ('delete', old.rowid, old.title, old.body, old.tags); END"
    ),
    "fts_kb_bu": (
        "BEFORE UPDATE OF title, body, tags ON kb_article BEGIN "
        "INSERT INTO kb_fts(kb_fts, rowid, title, body, tags) "
        "VALUES ('delete', old.rowid, old.title, old.body, old.tags); END"
    ),
    "fts_kb_au": (
        "AFTER UPDATE OF title, body, tags ON kb_article BEGIN "
        "INSERT INTO kb_fts(rowid, title, body, tags) "
        "VALUES (new.rowid, new.title, new.body, new.tags); END"
    ),
}

FTS_TABLES = ("ticket_fts", "customer_fts", "kb_fts")


def create_statements() -> list[str]:
    """Everything the FTS layer needs, in order (used by the migration)."""
    return [
        *VIEWS,
        *TABLES,
        *(f"CREATE TRIGGER IF NOT EXISTS {name} {body}" for name, body in TRIGGERS.items()),
    ]


def drop_statements() -> list[str]:
    return [
        *(f"DROP TRIGGER IF EXISTS {name}" for name in TRIGGERS),
        *(f"DROP TABLE IF EXISTS {table}" for table in FTS_TABLES),
        "DROP VIEW IF EXISTS customer_doc",
        "DROP VIEW IF EXISTS ticket_doc",
    ]


def _execute_all(connection: sqlite3.Connection, statements: Iterable[str]) -> None:
    for statement in statements:
        connection.execute(statement)


def drop_triggers(connection: sqlite3.Connection) -> None:
    """Stop incremental indexing, for a bulk load that will call :func:`rebuild_and_restore`."""
    _execute_all(connection, (f"DROP TRIGGER IF EXISTS {name}" for name in TRIGGERS))


def rebuild_and_restore(connection: sqlite3.Connection) -> None:
    """Rebuild every index from its content in one pass, then restore the triggers."""
    for table in FTS_TABLES:
        connection.execute(f"INSERT INTO {table}({table}) VALUES ('rebuild')")
    _execute_all(connection, (f"CREATE TRIGGER IF NOT EXISTS {n} {b}" for n, b in TRIGGERS.items()))


def merge_statements(tables: Iterable[str] = ("ticket_fts", "customer_fts")) -> list[str]:
    """Statements that merge each index into one segment.

    FTS5 records a deletion as a marker in a newer segment; the deleted document's words stay in
    the older segment until the two are merged. After an erasure every segment is merged, so
    the index keeps no word of the erased text (the pages it frees are zeroed by
    ``secure_delete``). The cost is one rewrite of the index.
    """
    return [f"INSERT INTO {table}({table}) VALUES ('optimize')" for table in tables if table in FTS_TABLES]


def integrity_check(connection: sqlite3.Connection) -> None:
    """Raise ``sqlite3.DatabaseError`` if an index disagrees with its content."""
    for table in FTS_TABLES:
        connection.execute(f"INSERT INTO {table}({table}, rank) VALUES ('integrity-check', 1)")
