"""Erasures arriving with a pull: what a replica forgets beyond the rows the server sends.

The pulled records already carry the erased rows (names, subjects and bodies anonymised,
addresses and attachments deleted), and the server rewrote its earlier records, so nothing it
hands out holds the person any more. What a replica keeps beside those rows is its own: the
composer's drafts on the person's tickets, the audit trail of its own edits, the search index's
deleted entries, cached attachment files and old page images in its write-ahead log. A tombstone
record (``op = "erase"``) tells it to forget them — on every replica, whether or not it was online
when the erasure happened, and however far behind its cursor was.

The rebase (:mod:`supportdesk.sync.rebase`) calls :func:`prepare` before it applies the records
(the names and addresses are still there to recognise in audit values), :func:`forget` after it
re-ran the pending mutations (in the same transaction as the rows), and :func:`finish` after
the commit (files and the log).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from supportdesk.domain.mutations.privacy import Person, find_person, finish_erase, forget_locally
from supportdesk.store import fts
from supportdesk.sync.wire import Change

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from supportdesk.store.workspace import Workspace


def prepare(connection: Connection, changes: Sequence[Change]) -> list[Person]:
    """What this replica holds of each person a tombstone among ``changes`` names."""
    people: list[Person] = []
    for change in changes:
        if change.op != "erase":
            continue
        customer_id = change.data.get("customer_id")
        records = change.data.get("records")
        if not isinstance(customer_id, str):
            continue
        named = [r for r in records if isinstance(r, str)] if isinstance(records, list) else []
        people.append(find_person(connection, customer_id, named))
    return people


def forget(connection: Connection, people: Sequence[Person]) -> None:
    """Drop the drafts on their tickets, blank audit values that held their data, and merge the
    search indexes once (so no deleted index entry keeps their words)."""
    if not people:
        return
    for person in people:
        forget_locally(connection, person, merge_index=False)
    with_tickets = any(person.tickets for person in people)
    for statement in fts.merge_statements(("ticket_fts", "customer_fts") if with_tickets else ("customer_fts",)):
        connection.exec_driver_sql(statement)


def finish(workspace: Workspace, people: Sequence[Person]) -> None:
    """After the commit: remove the cached attachment files no row names any more, fold the log."""
    if people:
        finish_erase(workspace, set().union(*(person.hashes for person in people)))
