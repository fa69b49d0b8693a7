"""The team server's side of an erasure after its transaction, and ``supportdesk server compact``.

Inside the transaction the mutator erases the rows, the channels' records and the audit values
(:mod:`supportdesk.domain.mutations.privacy`) and the change log is rewritten
(:mod:`supportdesk.server.changes`). After the commit:

- a SQLite database folds its write-ahead log into the file: the log's earlier page images hold
  the erased text, while freed space in the file is already zeroed (``secure_delete``);
- the channels remove the attachment files no row names any more
  (:meth:`supportdesk.server.channels.ServerChannels.after_commit`, through :func:`remove_unused_files`).

PostgreSQL keeps an updated row's old version in the table's files until ``VACUUM``, and
``VACUUM`` only marks that space free: the bytes leave the files when ``VACUUM FULL`` rewrites the
table. That takes an exclusive lock on each table, so it never runs by itself: :func:`compact`
(``supportdesk server compact``) runs it over the tables that hold customers' data, at an hour the
team chooses. PostgreSQL's write-ahead log segments and any base backups or WAL archives keep
earlier versions until they are recycled or expire; those are the database operator's to age out.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from supportdesk.domain.mutations.privacy import ERASE

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from supportdesk.server.db import ServerDatabase

log = logging.getLogger(__name__)

#: Tables that can hold a customer's data (or an earlier version of it).
PERSONAL_TABLES = (
    "customer",
    "identity",
    "ticket",
    "message",
    "attachment",
    "survey",
    "audit_event",
    "change_log",
    "mutation_result",
    "channel_message_ref",
    "channel_conversation",
    "channel_outbox",
    "channel_autoreply",
    # PostgreSQL's stored search documents (migration 0027): a ticket's words, the requester's
    # name and addresses among them; an erasure rewrites the document, VACUUM FULL the old one
    "ticket_search",
)


#: SQLite servers whose log still holds pages from before an erasure (a reader held it then).
_UNFOLDED: set[str] = set()
#: How long the write that finished an erasure waits for readers (a long bootstrap stream may hold
#: the log for minutes; the fold is then tried again after each later write).
FOLD_WAIT_MS = 5000


class _Written(Protocol):
    """What the hook reads of :class:`supportdesk.server.apply.Applied` (which runs the hook, so
    this module cannot import it back)."""

    name: str


def after_erase(database: ServerDatabase, applied: _Written) -> None:
    """After an erasure commits on SQLite (or any write while an earlier fold is owed): fold the
    write-ahead log into the file."""
    if database.is_postgres or (applied.name != ERASE and database.url not in _UNFOLDED):
        return
    if fold_log(database, wait_ms=FOLD_WAIT_MS):
        _UNFOLDED.discard(database.url)
    else:
        _UNFOLDED.add(database.url)
        log.warning("a reader held the write-ahead log after an erasure; it is folded after a later write")


def fold_log(database: ServerDatabase, *, wait_ms: int | None = None) -> bool:
    """Fold a SQLite server's write-ahead log into its file (False: a reader held it; True on PostgreSQL)."""
    if database.is_postgres:
        return True
    from supportdesk.store.engine import BUSY_TIMEOUT_MS, fold_wal

    raw = database.engine.raw_connection()
    try:
        driver = raw.driver_connection
        assert driver is not None
        return fold_wal(driver, wait_ms=BUSY_TIMEOUT_MS if wait_ms is None else wait_ms)
    finally:
        raw.close()


def remove_unused_files(database: ServerDatabase, root: Path, hashes: Iterable[str]) -> int:
    """Remove the files among ``hashes`` that no attachment row names; returns how many went."""
    from sqlalchemy import select

    from supportdesk.domain.tx import table
    from supportdesk.store.files import remove_files

    wanted = sorted(set(hashes))
    if not wanted:
        return 0
    attachments = table("attachment")
    with database.engine.connect() as connection:
        used = {
            row[0] for row in connection.execute(select(attachments.c.sha256).where(attachments.c.sha256.in_(wanted)))
        }
    return remove_files(root, [h for h in wanted if h not in used])


@dataclass(frozen=True)
class Compacted:
    tables: tuple[str, ...]
    log_folded: bool
    #: PostgreSQL: ``pg_statistic`` was rewritten too (only its owner or the database's may).
    statistics_rewritten: bool = True
    #: PostgreSQL: transactions older than the compact that were still open when it rewrote
    #: the tables (``pid application``): row versions they may still see were kept.
    held_by: tuple[str, ...] = ()


#: The query for other transactions begun before ``:start`` that may still see the row versions
#: an erasure replaced, so ``VACUUM FULL`` copies them into the new file, where they stay until
#: the next compact. In this database, any that holds a snapshot or a transaction id: a report,
#: a ``pg_dump``, an autovacuum ANALYZE running just then, a write in progress between two
#: statements (READ COMMITTED: no snapshot, but its xid holds the same removal horizon back). In
#: another database of the cluster, one that holds a transaction id: every snapshot taken while
#: it runs lists it as running, the compact's own too, and that holds this database's horizon
#: back to it (a snapshot alone in another database does not). Those are named with their
#: database, since the operator may not know another application shares the cluster.
_OLDER_SNAPSHOTS = (
    "SELECT pid, coalesce(nullif(application_name, ''), backend_type)"
    " || CASE WHEN datname IS DISTINCT FROM current_database()"
    " THEN ' (database ' || coalesce(datname, 'none') || ')' ELSE '' END"
    " FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND xact_start < %(start)s"
    " AND (backend_xid IS NOT NULL OR (datname = current_database() AND backend_xmin IS NOT NULL))"
    " ORDER BY pid"
)


#: The longest ``compact --wait`` in seconds (a day): a compact is run by hand or by a nightly job.
WAIT_MAX = 86_400.0


def checked_wait(wait: float) -> float:
    """``wait`` as a number of seconds the compact can wait, or ValueError: nan never reaches a
    deadline (``now >= nan`` is false) and inf never comes, so either waited for ever on one
    transaction that never ends."""
    if not 0 <= wait <= WAIT_MAX:  # false for nan too
        raise ValueError(f"the wait must be between 0 and {WAIT_MAX:g} seconds, not {wait!r}")
    return float(wait)


#: Whether a transaction id older than ``:horizon`` is still running anywhere in the cluster.
#: ``:horizon`` is the compact's first snapshot's xmax (one past the newest finished transaction,
#: the erasure's or later): a writer whose id is newer than that cannot hold back the removal of
#: versions the erasure replaced, and every older one still running is in the snapshot. Unlike
#: ``pg_stat_activity``, which hides other roles' transaction start times from a role without
#: ``pg_read_all_stats``, a snapshot lists every running transaction: another application's
#: writer is seen whoever runs the compact.
_OLDER_XID_RUNNING = "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint < %(horizon)s"

#: How a writer is named that ``pg_stat_activity`` does not show this role.
UNSEEN = "? (a transaction of a role this one may not see: grant it pg_read_all_stats)"


def _wait_for_older_snapshots(connection: Connection, wait: float) -> tuple[str, ...]:
    """Wait up to ``wait`` seconds for every transaction that began before this call to end.

    Returns the ones still open at the end. Transactions that begin meanwhile do not count:
    the erasure committed before the compact began, so their snapshots see it.
    """
    start, horizon = connection.exec_driver_sql(
        "SELECT clock_timestamp(), pg_snapshot_xmax(pg_current_snapshot())::text::bigint"
    ).one()
    deadline = time.monotonic() + wait
    while True:
        held = tuple(f"{pid} {name}" for pid, name in connection.exec_driver_sql(_OLDER_SNAPSHOTS, {"start": start}))
        unseen = not held and bool(connection.exec_driver_sql(_OLDER_XID_RUNNING, {"horizon": horizon}).scalar())
        if not held and not unseen:
            return ()
        if time.monotonic() >= deadline:
            return held or (UNSEEN,)
        time.sleep(0.05)


def _rewrite_statistics(connection: Connection) -> bool:
    """``VACUUM FULL pg_statistic``; False when PostgreSQL skipped it (a role that does not own
    the database gets a warning, not an error): the catalog's file was not replaced."""
    before = connection.exec_driver_sql("SELECT pg_relation_filenode('pg_statistic')").scalar()
    connection.exec_driver_sql("VACUUM FULL pg_statistic")
    return connection.exec_driver_sql("SELECT pg_relation_filenode('pg_statistic')").scalar() != before


def compact(database: ServerDatabase, *, wait: float = 60.0) -> Compacted:
    """Rewrite the tables that hold customers' data so no old row version or freed page keeps
    erased bytes: ``VACUUM FULL`` on PostgreSQL (one exclusive lock per table while it runs),
    ``VACUUM`` and a folded log on SQLite (only needed for files from before ``secure_delete``).

    PostgreSQL's planner statistics are data too: ANALYZE (autovacuum runs it by itself) samples
    values into ``pg_statistic`` — names, addresses, and up to 10,000 of the most common words of
    the search documents (``ticket_search``'s statistics target is 1000). Each table is analysed
    again after its rewrite, and ``pg_statistic`` itself rewritten, so the old samples go too.

    A rewrite keeps the row versions that an older transaction may still see. So on PostgreSQL
    the compact first waits up to ``wait`` seconds for the transactions begun before it to end.
    An autovacuum ANALYZE or a long report is one such transaction. Those still open then are
    named in :attr:`Compacted.held_by`, and the compact should be run again once they end."""
    wait = checked_wait(wait)
    if database.is_postgres:
        with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            held = _wait_for_older_snapshots(connection, wait)
            if held:
                log.warning("transactions older than the compact kept erased row versions: %s", ", ".join(held))
            for name in PERSONAL_TABLES:
                connection.exec_driver_sql(f"VACUUM (FULL, ANALYZE) {name}")
            statistics = _rewrite_statistics(connection)
        if not statistics:
            log.warning("pg_statistic was not rewritten (only the database's owner may): it may keep erased values")
        return Compacted(PERSONAL_TABLES, True, statistics, held)
    raw = database.engine.raw_connection()
    try:
        driver = raw.driver_connection
        assert driver is not None
        driver.execute("VACUUM")
    finally:
        raw.close()
    return Compacted(("*",), fold_log(database))
