"""A push's deferred SLA clocks take the ticket row the mutator held, not a read of it (push13j).

:class:`supportdesk.domain.timing.DeferredClocks` computes a push's timing rows at its end. The
ticket row it needs is the one the last mutation that noted the ticket loaded and held
(:meth:`supportdesk.domain.tx.Tx.held_ticket`) while that Tx still holds it current: no other Tx
on the connection wrote a ticket since (a later mutation, a rule's action, an automation), no
scrub rewrote it behind the Tx; else it is read again. Here: the read is cut for a push of one
note; a write by another Tx between forces the read; and random pushes (rules that fire, a rule
that fails half way, refusals, erasures) leave every table as they do with nothing handed over.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from sqlalchemy import text

from supportdesk.domain import timing, tx
from supportdesk.domain.context import MutationContext
from supportdesk.domain.mutations.common import load_ticket
from supportdesk.domain.timing import DeferredClocks
from supportdesk.domain.tx import Tx
from supportdesk.server import admin
from supportdesk.server.db import ServerDatabase
from tests.conftest import TestClock
from tests.server.test_attack19_push_differential import dump, prepare_side, run, steps, twin
from tests.server.test_push_batch import Pusher, new_ticket

pytestmark = pytest.mark.integration

__all__ = ["twin"]  # the second database of the differential test


@pytest.fixture
def ticket_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every ``ticket`` row a :class:`Tx` reads by its key."""
    reads: list[str] = []
    original = Tx.row

    def row(self: Tx, table_name: str, key: Any) -> dict[str, Any] | None:
        if table_name == "ticket":
            reads.append(str(key))
        return original(self, table_name, key)

    monkeypatch.setattr(Tx, "row", row)
    return reads


@pytest.fixture
def checked_hand_over(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Every row the clocks take instead of reading is compared with the row read then."""
    original = timing._current_ticket
    handed = [0]

    def current(flushing: Any, ticket_id: str, mark: Any = None) -> dict[str, Any] | None:
        found = original(flushing, ticket_id, mark)
        if mark is not None and found is not None and found is mark[0]:
            handed[0] += 1
            fresh = flushing.connection.execute(text("SELECT * FROM ticket WHERE id = :id"), {"id": ticket_id})
            row = dict(fresh.mappings().one())
            for column in ("status", "priority", "group_id", "assignee_id", "channel", "subject", "type"):
                assert str(found[column]) == str(row[column]), (column, found[column], row[column])
            for column in ("created_at", "updated_at", "solved_at", "first_response_at"):
                assert _same_time(found[column], row[column]), (column, found[column], row[column])
        return found

    monkeypatch.setattr(timing, "_current_ticket", current)
    yield handed


def _same_time(one: Any, other: Any) -> bool:
    """Equal instants, whether the driver gave a datetime or (SQLite, a plain read) its text."""
    if one is None or other is None:
        return one is other
    return _instant(one) == _instant(other)


def _instant(value: Any) -> datetime:
    found = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return found if found.tzinfo is not None else found.replace(tzinfo=UTC)


def test_a_push_of_one_note_reads_its_ticket_once(
    database: ServerDatabase, ticket_reads: list[str], checked_hand_over: list[int]
) -> None:
    pusher = Pusher(database)
    ticket_id = new_ticket(pusher, "Once")
    ticket_reads.clear()
    (noted,) = pusher.push(("ticket.note", {"ticket_id": ticket_id, "body": "read me once"}))
    assert noted.ok, noted
    assert ticket_reads == [ticket_id]  # the mutator's; the clocks took its row
    assert checked_hand_over[0] == 1


def test_a_ticket_written_by_another_tx_before_the_flush_is_read_again(database: ServerDatabase) -> None:
    """What a rule's action or an automation does between the mutator and the push's end: a Tx
    of its own writes the ticket. The row the mutator held is stale then; the clocks read it."""
    pusher = Pusher(database)
    ticket_id = new_ticket(pusher, "Moved")
    other_group = admin.add_group(database, "Tier 2")
    context = MutationContext(actor=pusher.actor, mode="server", authority=True)
    with database.engine.connect() as connection, connection.begin(), DeferredClocks(connection) as clocks:
        mutator = Tx(connection, context, "ticket.set_status")
        ticket = load_ticket(mutator, ticket_id)
        mutator.update("ticket", ticket_id, {"status": "open"}, current=ticket)
        clocks.active = True
        timing.refresh_from_tx(mutator)  # noted, with the Tx that holds the row
        clocks.active = False
        assert mutator.held_ticket(ticket_id) is not None
        rule = Tx(connection, context, "ticket.assign")  # a rule's action: a Tx of its own
        rule.update("ticket", ticket_id, {"group_id": other_group, "status": "solved", "solved_at": context.now})
        clocks.flush(Tx(connection, context, "sla.refresh"))
        found = connection.execute(
            text("SELECT group_id, solved_at FROM ticket_timing WHERE ticket_id = :t"), {"t": ticket_id}
        ).one()
        stale = mutator.held_ticket(ticket_id)
    assert found[0] == other_group
    assert found[1] is not None
    assert stale is None  # the connection's ticket-write count moved: the mutator's row is not current


def test_a_scrub_behind_a_tx_ends_every_held_row_on_the_connection(database: ServerDatabase) -> None:
    """An erasure's scrub after a mutator (``keep_erased``) rewrites rows behind the Tx and drops
    its held rows; the rows other Txs of the transaction hold are stale as well."""
    pusher = Pusher(database)
    ticket_id = new_ticket(pusher, "Scrubbed")
    context = MutationContext(actor=pusher.actor, mode="server", authority=True)
    with database.engine.connect() as connection, connection.begin():
        first, second = Tx(connection, context, "ticket.note"), Tx(connection, context, "ticket.note")
        load_ticket(first, ticket_id)
        load_ticket(second, ticket_id)
        second.drop_held()
        assert first.held_ticket(ticket_id) is None


def test_random_pushes_leave_the_same_rows_with_and_without_the_hand_over(
    database: ServerDatabase,
    twin: ServerDatabase,
    monkeypatch: pytest.MonkeyPatch,
    clock: TestClock,
    checked_hand_over: list[int],
) -> None:
    clock.freeze()
    fast, fast_group = prepare_side(database)
    monkeypatch.setattr(tx, "HAND_OVER", False)
    plain, plain_group = prepare_side(twin)
    monkeypatch.setattr(tx, "HAND_OVER", True)
    example = [0]

    @settings(
        max_examples=int(os.environ.get("PUSH13J_EXAMPLES", "10" if database.is_postgres else "15")),
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        database=None,
    )
    @given(pushes=steps())
    def check(pushes: list[list[tuple[str, dict[str, Any]]]]) -> None:
        example[0] += 1
        known = {f"0190a000-0000-7000-8000-{example[0]:06d}00000{n}": f"T{n}" for n in range(3)}
        fast_answers = run(fast, fast_group, known, pushes)
        with monkeypatch.context() as patch:
            patch.setattr(tx, "HAND_OVER", False)
            plain_answers = run(plain, plain_group, known, pushes)
        assert fast_answers == plain_answers
        fast_tables, plain_tables = dump(database, known), dump(twin, known)
        assert fast_tables.keys() == plain_tables.keys()
        for name in fast_tables:
            assert fast_tables[name] == plain_tables[name], (name, pushes)

    check()
    assert checked_hand_over[0] > 0  # rows were handed over, and each was the row as it stood
