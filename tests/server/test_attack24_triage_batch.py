"""attack24 on the server's batched triage (``ServerTriage.triage_many``, ``apply_each_as``
with held audit rows): a hostile ticket in the batch — a long text of control characters, bidi
marks and mixed scripts, one of symbols only, an erased customer's — fails or delays nobody,
and a ticket whose ``ticket.triage`` is refused leaves no audit row, no change record and no
field. (Found nothing; kept as a regression test on both backends.)"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from supportdesk.domain.context import SYSTEM
from supportdesk.server import assist
from supportdesk.server.app import create_app
from supportdesk.server.db import ServerDatabase

ENGLISH = "Thanks a lot, the new dashboard is lovely. How do I export a report to CSV?"
GERMAN = "Sie haben mir den Betrag zweimal abgebucht, das ist eine Frechheit! Ich will mein Geld zurück."
HOSTILE = ("\x1b[2J\u202e\u200b ÿ ж 中 ع \x07 " * 4000)[:60_000]


def rows(database: ServerDatabase, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    with database.read_engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(sql), params)]


def test_attack24_a_hostile_ticket_in_a_triage_batch_costs_the_others_nothing(database: ServerDatabase) -> None:
    state = create_app(database).state.server
    triage = assist.install(state)

    def create(subject: str, body: str, who: str) -> str:
        args = {"subject": subject, "body": body, "requester": {"value": who}}
        return str(state.apply_as(SYSTEM, "ticket.create", args)[0]["ticket_id"])

    first = create("Export question", ENGLISH, "lee@example.com")
    hostile = create("\u202e" + "x" * 200, HOSTILE, "eve@example.com")
    symbols = create("!!!", "½ ¾ ⅞ ∑ ∞ ≠ ≈ ☃ 🦆 " * 50, "sym@example.com")
    erased = create("Erased before triage", GERMAN, "kim@example.com")
    last = create("Doppelte Abbuchung", GERMAN, "ute@example.com")
    kim = rows(database, "SELECT requester_id FROM ticket WHERE id = :t", t=erased)[0][0]
    state.apply_as(SYSTEM, "customer.erase", {"customer_id": kim})
    batch = triage._next_batch()
    assert batch == [first, hostile, symbols, erased, last]
    written = triage.triage_many(batch)
    assert {first, hostile, symbols, last} <= set(written), written
    found = dict(rows(database, "SELECT id, language FROM ticket WHERE id IN (:a, :b)", a=first, b=last))
    assert found == {first: "en", last: "de"}
    # the erasure anonymised the ticket before its triage ran (its statistics are kept)
    assert rows(database, "SELECT subject FROM ticket WHERE id = :t", t=erased) == [("(erased)",)]


def test_attack24_a_refused_triage_in_a_batch_leaves_no_audit_row_or_record(database: ServerDatabase) -> None:
    state = create_app(database).state.server
    triage = assist.install(state)
    made = [
        str(
            state.apply_as(SYSTEM, "ticket.create", {"subject": s, "body": b, "requester": {"value": w}})[0][
                "ticket_id"
            ]
        )
        for s, b, w in (("A", ENGLISH, "a@example.com"), ("B", GERMAN, "b@example.com"), ("C", ENGLISH, "c@x.com"))
    ]
    good = triage.current().triage("B", [GERMAN]).fields()
    refused = {**good, "intent": "x" * 39, "intent_confidence": 0.5, "sentiment": "furious"}
    before = rows(database, "SELECT max(seq) FROM change_log")[0][0]
    written = triage._write([(made[0], good), (made[1], refused), (made[2], good)])
    assert set(written) == {made[0], made[2]}
    audited = rows(database, "SELECT DISTINCT entity_id FROM audit_event WHERE mutation = 'ticket.triage'")
    assert sorted(entity for (entity,) in audited) == sorted([made[0], made[2]])
    logged = rows(database, "SELECT entity_id FROM change_log WHERE seq > :s AND entity = 'ticket'", s=before)
    assert made[1] not in {entity for (entity,) in logged}
    assert rows(database, "SELECT language, sentiment, intent FROM ticket WHERE id = :t", t=made[1]) == [
        (None, None, None)
    ]
