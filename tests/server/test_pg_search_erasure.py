"""Attack on PostgreSQL search (issue 13) and ``server compact``: erased words in the statistics.

``ticket_search.document`` keeps a statistics target of 1000 (migration 0027): ANALYZE — which
autovacuum runs by itself — stores up to 10,000 of its most common words in ``pg_statistic``, and
on a team's database a customer's name, address and the words they wrote are among them. An
erasure rewrites the documents and ``server compact`` rewrites the tables, but the statistics
kept the words: after compact the cluster's data files of the database must hold none of them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import text

from supportdesk.server.db import ServerDatabase
from supportdesk.server.erasure import compact
from tests.server.test_pg_ticket_search import customer, found, message, ticket

# the server conftest's ``database``, on PostgreSQL only (its search documents are PostgreSQL's)
pytestmark = [pytest.mark.integration, pytest.mark.parametrize("database", ["postgresql"], indirect=True)]

NEEDLES = ("quonkwright", "zyrafina", "wobblecombe")
CONTROL = "keepmecontrol"


def data_files(url: str) -> list[Path]:
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("CHECKPOINT")
        data = connection.execute("SHOW data_directory").fetchone()
        oid = connection.execute("SELECT oid FROM pg_database WHERE datname = current_database()").fetchone()
    assert data is not None and oid is not None
    folder = Path(data[0]) / "base" / str(oid[0])
    if not folder.is_dir():
        pytest.skip(f"the test reads the cluster's data files ({folder})")
    return sorted(p for p in folder.rglob("*") if p.is_file())


def holding(files: list[Path], needles: tuple[str, ...]) -> list[tuple[str, str]]:
    hits = []
    for path in files:
        data = path.read_bytes().lower()
        hits += [(path.name, needle) for needle in needles if needle.encode() in data]
    return hits


def planted(database: ServerDatabase) -> tuple[str, str]:
    """A customer to erase with one ticket, and a control customer whose words must stay."""
    with database.engine.begin() as connection:
        person = customer(connection, "Zyrafina Quonkwright", "zq@example.com")
        erased = ticket(connection, "Move", person, "Ship to 17 Wobblecombe Lane")
        control = customer(connection, "Keepmecontrol Person", "keep@example.com")
        ticket(connection, "Stay", control, "Keepmecontrol writes")
    return person, erased


def erase(connection: Any, person: str, tickets: list[str]) -> None:
    """The erasure's row changes (what the mutator writes), for the compact to clean up after."""
    connection.execute(text("UPDATE customer SET name = '(erased)' WHERE id = :id"), {"id": person})
    connection.execute(text("DELETE FROM identity WHERE customer_id = :id"), {"id": person})
    for ticket_id in tickets:
        connection.execute(text("UPDATE message SET body = '(erased)' WHERE ticket_id = :id"), {"id": ticket_id})


def test_compact_leaves_no_erased_word_in_the_statistics(database: ServerDatabase) -> None:
    with database.engine.begin() as connection:
        person = customer(connection, "Zyrafina Quonkwright", "zq@example.com")
        control = customer(connection, "Keepmecontrol Person", "keep@example.com")
        erased_tickets = [ticket(connection, f"Move {n}", person, "Ship to 17 Wobblecombe Lane") for n in range(3)]
        for n in range(30):
            ticket(connection, f"Stay {n}", control, "Keepmecontrol writes")
    with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("ANALYZE"))  # what autovacuum does on its own
        common = connection.execute(
            text(
                "SELECT most_common_elems::text FROM pg_stats"
                " WHERE tablename = 'ticket_search' AND attname = 'document'"
            )
        ).scalar()
    assert common is not None and "quonkwright" in common  # the statistics hold the words
    # the erasure's row changes (the mutator's), then the operator's compact
    with database.engine.begin() as connection:
        connection.execute(text("UPDATE customer SET name = '(erased)' WHERE id = :id"), {"id": person})
        connection.execute(text("DELETE FROM identity WHERE customer_id = :id"), {"id": person})
        for ticket_id in erased_tickets:
            connection.execute(text("UPDATE message SET body = '(erased)' WHERE ticket_id = :id"), {"id": ticket_id})
        assert found(connection, "quonkwright") == set()
        assert found(connection, "wobblecombe") == set()
        message(connection, erased_tickets[0], "a later reply")
    compact(database)
    files = data_files(database.url.replace("+psycopg", ""))
    assert holding(files, (CONTROL,)), "the scan reads the right files"
    assert holding(files, NEEDLES) == []


def test_compact_waits_for_older_transactions_and_names_those_that_stay(database: ServerDatabase) -> None:
    """A transaction begun before the erasure may still see the erased row versions, so
    ``VACUUM FULL`` copies them into the new file. A report or a backup can be such a
    transaction, and so can an autovacuum ANALYZE that happens to be running. The compact waits
    for older transactions to end. One still open when the wait is over is named, and the next
    compact, after it has ended, leaves nothing."""
    person, erased = planted(database)
    url = database.url.replace("+psycopg", "")
    with psycopg.connect(url) as report:
        report.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        # its snapshot, taken on a table the compact does not rewrite (VACUUM FULL would wait
        # for the lock of one it read)
        assert report.execute("SELECT count(*) FROM agent").fetchone() is not None
        holder = report.info.backend_pid
        with database.engine.begin() as connection:  # the erasure commits after that snapshot
            erase(connection, person, [erased])
        kept = compact(database, wait=0.2)
        assert [entry.split()[0] for entry in kept.held_by] == [str(holder)]
        assert holding(data_files(url), ("quonkwright",)), "the report's snapshot kept the old row"
        report.rollback()
    done = compact(database, wait=30)
    assert done.held_by == ()
    files = data_files(url)
    assert holding(files, (CONTROL,)), "the scan reads the right files"
    assert holding(files, NEEDLES) == []


def test_compact_waits_for_a_writer_in_another_database_of_the_cluster(database: ServerDatabase) -> None:
    """A transaction that holds a transaction id in another database of the same cluster (another
    application sharing the team's PostgreSQL, a second supportdesk database) is listed as running
    in every snapshot, the compact's own too: its rewrite kept the erased row versions. The compact
    waits for it and names it with its database; a snapshot alone over there holds nothing back."""
    person, erased = planted(database)
    url = database.url.replace("+psycopg", "")
    other = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(other, application_name="other-app") as writer, psycopg.connect(other) as reader:
        writer.execute("SELECT txid_current()")  # a write in progress over there
        reader.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        reader.execute("SELECT 1").fetchall()  # a snapshot only: it holds nothing back here
        with database.engine.begin() as connection:
            erase(connection, person, [erased])
        kept = compact(database, wait=0.2)
        assert kept.held_by == (f"{writer.info.backend_pid} other-app (database postgres)",)
        assert holding(data_files(url), ("quonkwright",)), "the other database's writer kept the old row"
        writer.rollback()
        done = compact(database, wait=30)
        reader.rollback()
    assert done.held_by == ()
    files = data_files(url)
    assert holding(files, (CONTROL,)), "the scan reads the right files"
    assert holding(files, NEEDLES) == []


def test_compact_waits_for_a_writer_its_role_may_not_see(database: ServerDatabase) -> None:
    """``pg_stat_activity`` hides another role's transactions from a role without
    ``pg_read_all_stats`` — the usual case of another application sharing the cluster. The
    compact still sees a running transaction id in its own snapshot, waits for it and says so."""
    from sqlalchemy import create_engine

    from supportdesk.server.erasure import UNSEEN, _wait_for_older_snapshots

    url = database.url.replace("+psycopg", "")
    role = f"probe_{abs(hash(url)) % 10**8}"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {role} LOGIN")
    plain = create_engine(database.url.replace("://", f"://{role}@", 1).replace(f"{role}@supportdesk@", f"{role}@"))
    try:
        other = url.rsplit("/", 1)[0] + "/postgres"
        with psycopg.connect(other, application_name="other-app") as writer:
            writer.execute("SELECT txid_current()")
            with psycopg.connect(url, autocommit=True) as erasure:  # a write that commits after it
                erasure.execute("SELECT txid_current()")
            with plain.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                assert connection.exec_driver_sql("SELECT current_user").scalar() == role
                assert _wait_for_older_snapshots(connection, 0.2) == (UNSEEN,)
                writer.rollback()
                assert _wait_for_older_snapshots(connection, 30) == ()
    finally:
        plain.dispose()
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(f"DROP ROLE {role}")


def test_the_compact_command_names_the_transactions_that_kept_erased_rows(database: ServerDatabase) -> None:
    """What the operator sees: one readable warning line per reason, exit 0 (the rest is done)."""
    from typer.testing import CliRunner

    from supportdesk.cli.main import app

    url = database.url.replace("+psycopg", "")
    with psycopg.connect(url, application_name="nightly-report") as report:
        report.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        report.execute("SELECT 1 FROM agent").fetchall()
        result = CliRunner().invoke(
            app, ["server", "compact", "--db", database.url], env={"SUPPORTDESK_COMPACT_WAIT": "0.2"}
        )
        report.rollback()
    assert result.exit_code == 0, result.output
    assert "nightly-report" in result.output and "run it again" in result.output
