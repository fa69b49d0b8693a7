"""PostgreSQL's ticket search documents (migration 0027) follow every write, whoever makes it.

The triggers are exercised with plain SQL on a real PostgreSQL database — what any writer (a
mutator, an import, an erasure, an administrator's UPDATE) does to the tables —, and each check
asks through the query compiler, as the server searches.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import insert, text
from sqlalchemy.engine import Connection

from supportdesk.server.db import ServerDatabase, open_database
from supportdesk.store.core_tables import table
from supportdesk.store.ids import uuid7 as new_id
from tests.live import fresh_postgres_database

pytestmark = pytest.mark.integration


@pytest.fixture
def database() -> Iterator[ServerDatabase]:
    with fresh_postgres_database() as url:
        opened = open_database(url)
        try:
            yield opened
        finally:
            opened.dispose()


def found(connection: Connection, query: str) -> set[str]:
    from supportdesk.store.query import compile_query

    compiled = compile_query(query, dialect="postgresql")
    rows = connection.execute(text(f"SELECT t.id FROM ticket t WHERE {compiled.where}"), compiled.params)
    return {row[0] for row in rows}


def customer(connection: Connection, name: str, address: str) -> str:
    customer_id = new_id()
    connection.execute(insert(table("customer")).values(id=customer_id, name=name))
    identity(connection, customer_id, address)
    return customer_id


def identity(connection: Connection, customer_id: str, address: str) -> str:
    identity_id = new_id()
    connection.execute(
        insert(table("identity")).values(id=identity_id, customer_id=customer_id, kind="email", value=address)
    )
    return identity_id


def ticket(connection: Connection, subject: str, requester: str, *bodies: str) -> str:
    ticket_id = new_id()
    connection.execute(insert(table("ticket")).values(id=ticket_id, subject=subject, requester_id=requester, fields={}))
    for body in bodies:
        message(connection, ticket_id, body)
    return ticket_id


def message(connection: Connection, ticket_id: str, body: str) -> str:
    message_id = new_id()
    values: dict[str, Any] = {
        "id": message_id,
        "ticket_id": ticket_id,
        "channel": "email",
        "direction": "inbound",
        "author_kind": "customer",
        "body": body,
        "meta": {},
    }
    connection.execute(insert(table("message")).values(**values))
    return message_id


def test_documents_follow_every_write(database: ServerDatabase) -> None:
    with database.engine.begin() as connection:
        alice = customer(connection, "Alice Doe", "alice@example.com")
        bob = customer(connection, "Bob Roe", "bob@example.org")
        fire = ticket(connection, "Printer on fire", alice, "The paper jam started it.")
        invoice = ticket(connection, "Invoice question", bob, "A jam of paper and an invoice.")
        assert found(connection, "printer") == {fire}
        assert found(connection, "jam") == {fire, invoice}
        assert found(connection, "alice") == {fire}  # the requester's address
        assert found(connection, "doe") == {fire}  # and name
        # a reply; a phrase may run from one message into the next (FTS5's one body column)
        reply = message(connection, invoice, "Refund approved")
        assert found(connection, "refund") == {invoice}
        assert found(connection, '"invoice refund"') == {invoice}
        # but never from the subject into the messages, or between them and the people (FTS5's columns)
        assert found(connection, '"fire the"') == set()
        assert found(connection, '"it alice"') == set()
        assert found(connection, '"com the"') == set()
        assert found(connection, '"fire alice"') == set()
        # a message is appended to the document: the very document a rebuild makes
        message(connection, invoice, "Second reply, with more words.")
        appended = connection.execute(
            text("SELECT document::text FROM ticket_search WHERE ticket_id = :id"), {"id": invoice}
        )
        connection.execute(text("SELECT supportdesk_refresh_ticket_search(:id)"), {"id": invoice})
        rebuilt = connection.execute(
            text("SELECT document::text FROM ticket_search WHERE ticket_id = :id"), {"id": invoice}
        )
        assert appended.scalar() == rebuilt.scalar()
        assert found(connection, '"approved second"') == {invoice}
        # an edit (an erasure redacts this way) and a removal take the words away
        connection.execute(text("UPDATE message SET body = 'redacted' WHERE id = :id"), {"id": reply})
        assert found(connection, "refund") == set()
        assert found(connection, "redacted") == {invoice}
        connection.execute(text("DELETE FROM message WHERE id = :id"), {"id": reply})
        assert found(connection, "redacted") == set()
        # the subject changed
        connection.execute(text("UPDATE ticket SET subject = 'Toner low' WHERE id = :id"), {"id": fire})
        assert found(connection, "printer") == set()
        assert found(connection, "toner") == {fire}
        # the requester renamed, an address added, moved to another customer, removed
        connection.execute(text("UPDATE customer SET name = 'Alice Smith' WHERE id = :id"), {"id": alice})
        assert found(connection, "doe") == set()
        assert found(connection, "smith") == {fire}
        extra = identity(connection, alice, "a.smith@example.net")
        assert found(connection, "net") == {fire}
        connection.execute(text("UPDATE identity SET customer_id = :bob WHERE id = :id"), {"bob": bob, "id": extra})
        assert found(connection, "net") == {invoice}
        connection.execute(text("DELETE FROM identity WHERE id = :id"), {"id": extra})
        assert found(connection, "net") == set()
        # a customer merge moves the ticket to another requester
        connection.execute(text("UPDATE ticket SET requester_id = :bob WHERE id = :id"), {"bob": bob, "id": fire})
        assert found(connection, "roe") == {fire, invoice}
        assert found(connection, "smith") == set()
        # a ticket merge moves messages: their words go with them
        connection.execute(
            text("UPDATE message SET ticket_id = :to WHERE ticket_id = :id"), {"to": fire, "id": invoice}
        )
        assert found(connection, "invoice") == {fire, invoice}  # the subject stays with its ticket
        assert found(connection, '"an invoice"') == {fire}
        # a change the document does not hold leaves it alone (no rewrite per status change)
        before = connection.execute(text("SELECT xmin::text FROM ticket_search WHERE ticket_id = :id"), {"id": fire})
        connection.execute(text("UPDATE ticket SET status = 'solved' WHERE id = :id"), {"id": fire})
        after = connection.execute(text("SELECT xmin::text FROM ticket_search WHERE ticket_id = :id"), {"id": fire})
        assert before.scalar() == after.scalar()
        # a deleted ticket leaves no document behind
        connection.execute(text("DELETE FROM message WHERE ticket_id = :id"), {"id": invoice})
        connection.execute(text("DELETE FROM ticket WHERE id = :id"), {"id": invoice})
        left = connection.execute(text("SELECT ticket_id FROM ticket_search")).scalars().all()
        assert left == [fire]


def test_a_document_too_large_for_a_tsvector_never_fails_the_write(database: ServerDatabase) -> None:
    """PostgreSQL holds at most 1 MB of words in a ``tsvector``: such a ticket keeps the start of
    its messages searchable, and the write that made it so succeeds."""

    def word(number: int) -> str:
        letters = ""
        for _ in range(8):
            number, digit = divmod(number, 26)
            letters += chr(ord("a") + digit)
        return letters

    huge = " ".join(word(n) for n in range(160_000))  # 160,000 different words: ~1.3 MB of lexemes
    with database.engine.begin() as connection:
        requester = customer(connection, "Carol", "carol@example.com")
        long_one = ticket(connection, "Log dump", requester, huge)
        assert found(connection, word(1)) == {long_one}
        assert found(connection, "dump") == {long_one}
        assert found(connection, "carol") == {long_one}


def test_an_upgrade_builds_the_documents_of_existing_tickets() -> None:
    """A server upgraded from 0026 finds the tickets it already held."""
    from alembic import command

    from supportdesk.store.migrate import _alembic_config

    with fresh_postgres_database() as url:
        database = open_database(url, migrate=False)
        try:
            with database.engine.begin() as connection:
                command.upgrade(_alembic_config(connection), "0026_attack20_token_notify")
            with database.engine.begin() as connection:
                requester = customer(connection, "Dan", "dan@example.com")
                old = ticket(connection, "Login trouble", requester, "I cannot sign in.")
            with database.engine.begin() as connection:
                command.upgrade(_alembic_config(connection), "head")
            with database.engine.begin() as connection:
                assert found(connection, "sign") == {old}
                assert found(connection, "dan") == {old}
                indexes = connection.execute(text("SELECT indexname FROM pg_indexes WHERE tablename = 'message'"))
                assert "ix_message_body_search" not in set(indexes.scalars())  # 0021's, read by nothing now
        finally:
            database.dispose()
