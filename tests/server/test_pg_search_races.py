"""Attack on PostgreSQL's ticket search documents (migration 0027, issue 13): concurrent writers.

Two transactions that change one ticket's searchable text at once must leave the document a
rebuild would make. Each race is staged exactly, without sleeps: the first writer holds its
transaction open, the second is started in a thread and the test waits until PostgreSQL reports
it blocked on a lock (``pg_stat_activity``), then the first commits.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, text
from sqlalchemy.engine import Connection

from supportdesk.server.db import ServerDatabase
from supportdesk.store.core_tables import table
from supportdesk.store.ids import uuid7 as new_id
from tests.server.test_pg_ticket_search import customer, found, message, ticket

# the server conftest's ``database``, on PostgreSQL only (its search documents are PostgreSQL's)
pytestmark = [pytest.mark.integration, pytest.mark.parametrize("database", ["postgresql"], indirect=True)]

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def document(connection: Connection, ticket_id: str) -> str:
    return connection.execute(
        text("SELECT document::text FROM ticket_search WHERE ticket_id = :id"), {"id": ticket_id}
    ).scalar_one()


def rebuilt(connection: Connection, ticket_id: str) -> str:
    """The document a rebuild makes now, without storing it."""
    return connection.execute(
        text(
            "SELECT supportdesk_search_document(t.subject,"
            " coalesce((SELECT string_agg(m.body, E'\\n' ORDER BY m.created_at, m.id)"
            "             FROM message m WHERE m.ticket_id = t.id), ''),"
            " coalesce(c.name, '') || E'\\n' ||"
            " coalesce((SELECT string_agg(i.value, ' ' ORDER BY i.created_at, i.id)"
            "             FROM identity i WHERE i.customer_id = t.requester_id), ''))::text"
            " FROM ticket t LEFT JOIN customer c ON c.id = t.requester_id WHERE t.id = :id"
        ),
        {"id": ticket_id},
    ).scalar_one()


def stale(database: ServerDatabase) -> list[str]:
    """Tickets whose stored document differs from a rebuild."""
    with database.engine.connect() as connection:
        ids = connection.execute(text("SELECT id FROM ticket ORDER BY id")).scalars().all()
        return [i for i in ids if document(connection, i) != rebuilt(connection, i)]


def race(database: ServerDatabase, first: Callable[[Connection], None], second: Callable[[Connection], None]) -> None:
    """``first`` runs and holds its transaction; ``second`` starts and blocks on it; then both commit."""
    errors: list[BaseException] = []
    pid: list[int] = []
    started = threading.Event()

    def run_second() -> None:
        try:
            with database.engine.begin() as connection:
                pid.append(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())
                started.set()
                second(connection)
        except BaseException as error:  # reported by the test below
            errors.append(error)
            started.set()

    with database.engine.begin() as connection:
        first(connection)
        thread = threading.Thread(target=run_second)
        thread.start()
        assert started.wait(30)
        with database.engine.connect() as watcher:
            blocked = False
            for _ in range(3000):  # until PostgreSQL says the second writer waits on a lock
                if errors:
                    break
                state = watcher.execute(
                    text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid[0]}
                ).scalar()
                watcher.commit()
                if state == "Lock":
                    blocked = True
                    break
                thread.join(0.01)
            assert blocked or errors, "the second writer never waited for the first"
    thread.join(30)
    assert not thread.is_alive()
    assert errors == []


def test_a_message_edited_while_another_is_added_keeps_both(database: ServerDatabase) -> None:
    """An edit rebuilds the document from the messages it sees; a reply committed meanwhile was
    appended to the row it then overwrites: the reply's words must stay findable."""
    with database.engine.begin() as connection:
        requester = customer(connection, "Alice Doe", "alice@example.com")
        printer = ticket(connection, "Printer on fire", requester)
        first = message(connection, printer, "The paper jam started it.")

    race(
        database,
        lambda c: message(c, printer, "Zanzibar toner arrived"),
        lambda c: c.execute(text("UPDATE message SET body = 'The paper tray' WHERE id = :id"), {"id": first}),
    )
    with database.engine.connect() as connection:
        assert found(connection, "zanzibar") == {printer}
        assert found(connection, "tray") == {printer}
    assert stale(database) == []


def test_a_merge_racing_a_new_message_keeps_the_message(database: ServerDatabase) -> None:
    """A ticket merge moves messages (each move rebuilds the target's document) while a customer's
    mail lands on the target."""
    with database.engine.begin() as connection:
        requester = customer(connection, "Bob Roe", "bob@example.org")
        source = ticket(connection, "Invoice question", requester, "An invoice from March.")
        target = ticket(connection, "Invoice again", requester, "Still about the invoice.")

    race(
        database,
        lambda c: message(c, target, "Quetzalcoatl reference attached"),
        lambda c: c.execute(
            text("UPDATE message SET ticket_id = :to WHERE ticket_id = :from"), {"to": target, "from": source}
        ),
    )
    with database.engine.connect() as connection:
        assert found(connection, "quetzalcoatl") == {target}
        assert found(connection, "march") == {target}
    assert stale(database) == []


def test_a_requester_renamed_while_a_message_is_added(database: ServerDatabase) -> None:
    with database.engine.begin() as connection:
        requester = customer(connection, "Carol Ames", "carol@example.com")
        login = ticket(connection, "Login trouble", requester, "I cannot sign in.")

    race(
        database,
        lambda c: message(c, login, "Xylophone password reset"),
        lambda c: c.execute(text("UPDATE customer SET name = 'Carol Byrd' WHERE id = :id"), {"id": requester}),
    )
    with database.engine.connect() as connection:
        assert found(connection, "xylophone") == {login}
        assert found(connection, "byrd") == {login}
    assert stale(database) == []


def timed_message(connection: Connection, ticket_id: str, body: str, at: datetime) -> str:
    """A message inserted with its own time, as an import or a replayed write stores it."""
    message_id = new_id()
    values = {"id": message_id, "ticket_id": ticket_id, "channel": "email", "direction": "inbound"}
    values |= {"author_kind": "customer", "body": body, "meta": {}, "created_at": at}
    connection.execute(insert(table("message")).values(**values))
    return message_id


def test_a_message_older_than_the_last_one_lands_where_a_rebuild_puts_it(database: ServerDatabase) -> None:
    """A message whose time is earlier than the ticket's last (an imported mail, a replayed push)
    goes where a rebuild puts it (messages in time order): a phrase across the boundary means the
    same before and after any rebuild."""
    with database.engine.begin() as connection:
        requester = customer(connection, "Dan", "dan@example.com")
        order = ticket(connection, "Order late", requester)
    with database.engine.begin() as connection:
        timed_message(connection, order, "third alpha", T0 + timedelta(hours=3))
        timed_message(connection, order, "first omega", T0 + timedelta(hours=1))
        assert found(connection, '"omega third"') == {order}  # time order: first omega, third alpha
        assert found(connection, '"alpha first"') == set()
    assert stale(database) == []


def test_the_migration_goes_down_and_up(database: ServerDatabase) -> None:
    """0028 only replaces two functions: down to 0027 puts back its SQL refresh, up again the
    locking one, and a search still finds what it found."""
    from alembic import command

    from supportdesk.store.migrate import _alembic_config

    def language() -> str:
        with database.engine.connect() as connection:
            return connection.execute(
                text(
                    "SELECT l.lanname FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang"
                    " WHERE p.proname = 'supportdesk_refresh_ticket_search'"
                )
            ).scalar_one()

    with database.engine.begin() as connection:
        requester = customer(connection, "Erin", "erin@example.com")
        kept = ticket(connection, "Toner low", requester, "Send cyan.")
    assert language() == "plpgsql"
    with database.engine.begin() as connection:
        command.downgrade(_alembic_config(connection), "0027_pgsearch13_ticket_search")
    assert language() == "sql"
    with database.engine.begin() as connection:
        command.upgrade(_alembic_config(connection), "head")
    assert language() == "plpgsql"
    with database.engine.begin() as connection:
        message(connection, kept, "Magenta too.")
        assert found(connection, "cyan magenta") == {kept}
    assert stale(database) == []


@pytest.mark.parametrize("later_first", [True, False])
def test_two_messages_added_at_once_keep_both_in_time_order(database: ServerDatabase, later_first: bool) -> None:
    """Two transactions append to one document at once: the second waits for the first, then
    sees its message — both kept, in time order whichever commits first."""
    with database.engine.begin() as connection:
        requester = customer(connection, "Fay", "fay@example.com")
        shared = ticket(connection, "Shared", requester)
        timed_message(connection, shared, "opening words", T0)
    early = (T0 + timedelta(hours=1), "early kiwi")
    late = (T0 + timedelta(hours=2), "late mango")
    first, second = (late, early) if later_first else (early, late)
    race(
        database,
        lambda c: timed_message(c, shared, first[1], first[0]),
        lambda c: timed_message(c, shared, second[1], second[0]),
    )
    with database.engine.connect() as connection:
        assert found(connection, "kiwi mango") == {shared}
        assert found(connection, '"kiwi late"') == {shared}
        assert found(connection, '"mango early"') == set()
    assert stale(database) == []
