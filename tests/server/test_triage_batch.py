"""The server's triage takes the new tickets waiting together (``server/assist.py``): their texts
read at once, their ``ticket.triage`` writes in one transaction. What each ticket gets must be
what it got alone — its own fields from the models, its own mutation, audit reference and change
records, its duplicate note — and a ticket gone or refused in the batch costs the others nothing.
Both backends."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from supportdesk.domain.context import SYSTEM
from supportdesk.server import assist
from supportdesk.server.app import create_app
from supportdesk.server.db import ServerDatabase

GERMAN = "Sie haben mir den Betrag zweimal abgebucht, das ist eine Frechheit! Ich will mein Geld zurück."
ENGLISH = "Thanks a lot, the new dashboard is lovely. How do I export a report to CSV?"
REPEAT = "My card was charged twice for order 1234, please refund the second payment."


def rows(database: ServerDatabase, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    with database.read_engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(sql), params)]


def test_tickets_triaged_together_get_what_each_got_alone(database: ServerDatabase) -> None:
    state = create_app(database).state.server
    triage = assist.install(state)  # its hook and worker; the worker thread is not started here

    def create(subject: str, body: str, who: str) -> str:
        args = {"subject": subject, "body": body, "requester": {"value": who}}
        return str(state.apply_as(SYSTEM, "ticket.create", args)[0]["ticket_id"])

    first_repeat = create("Charged twice", REPEAT, "kim@example.com")
    assert triage.triage(triage.pending.get_nowait()) is not None  # alone, as one at a time did
    tickets = [
        create("Doppelte Abbuchung", GERMAN, "ute@example.com"),
        create("Export question", ENGLISH, "lee@example.com"),
        create("Charged twice again", REPEAT, "kim@example.com"),
    ]
    closed = create("Closed before triage", ENGLISH, "max@example.com")  # triage leaves it as it is
    state.apply_as(SYSTEM, "ticket.set_status", {"ticket_id": closed, "status": "closed"})
    batch = triage._next_batch()
    assert batch == [*tickets, closed], "the tickets waiting are taken together"
    models = triage.current()
    expected = {
        ticket_id: models.triage(subject, [body]).fields()
        for ticket_id, (subject, body) in zip(
            tickets,
            [("Doppelte Abbuchung", GERMAN), ("Export question", ENGLISH), ("Charged twice again", REPEAT)],
            strict=True,
        )
    }

    written = triage.triage_many([*batch, "no-such-ticket"])

    assert set(written) == {*tickets, closed}, "a missing ticket is skipped, the others written"
    assert written[closed]["changed"] == []
    for ticket_id, fields in expected.items():
        ((language, sentiment, intent),) = rows(
            database, "SELECT language, sentiment, intent FROM ticket WHERE id = :t", t=ticket_id
        )
        assert (language, sentiment, intent) == (fields["language"], fields["sentiment"], fields["intent"])
    assert expected[tickets[0]]["language"] == "de" and expected[tickets[0]]["sentiment"] == "negative"
    # one mutation per ticket, each with its own reference in the audit, as apply_as wrote them
    refs = rows(
        database,
        "SELECT entity_id, mutation_ref FROM audit_event WHERE mutation = 'ticket.triage' AND field = 'intent'",
    )
    assert sorted(entity for entity, _ref in refs) == sorted([first_repeat, *tickets])
    assert len({ref for _entity, ref in refs}) == len(refs)
    # the change log has each triaged ticket's row after its create
    logged = rows(database, "SELECT entity_id FROM change_log WHERE entity = 'ticket' ORDER BY seq")
    for ticket_id in tickets:
        assert logged.count((ticket_id,)) >= 2
    # the repeat is noted against the first ticket of its requester, once
    notes = rows(database, "SELECT entity_id FROM audit_event WHERE mutation = 'ticket.flag_duplicate'")
    assert {entity for (entity,) in notes} == {tickets[2]}
    assert rows(database, "SELECT intent FROM ticket WHERE id = :t", t=closed) == [(None,)]


def test_a_refused_triage_in_a_batch_costs_the_others_nothing(database: ServerDatabase) -> None:
    state = create_app(database).state.server
    triage = assist.install(state)
    made = [
        str(
            state.apply_as(SYSTEM, "ticket.create", {"subject": s, "body": b, "requester": {"value": w}})[0][
                "ticket_id"
            ]
        )
        for s, b, w in (("A", ENGLISH, "a@example.com"), ("B", GERMAN, "b@example.com"))
    ]
    good = triage.current().triage("B", [GERMAN]).fields()
    written = triage._write([(made[0], {"sentiment": "furious", "sentiment_confidence": 0.5}), (made[1], good)])
    assert set(written) == {made[1]}
    assert rows(database, "SELECT id, sentiment FROM ticket ORDER BY subject") == [
        (made[0], None),
        (made[1], "negative"),
    ]


def test_a_ticket_the_models_fail_on_costs_the_others_nothing(database: ServerDatabase, monkeypatch: Any) -> None:
    """The batch goes through the models in one call; when that raises, each ticket goes alone,
    and only the one the models fail on stays untriaged."""
    from supportdesk.assist import language

    state = create_app(database).state.server
    triage = assist.install(state)
    models = triage.current()
    made = {
        subject: str(
            state.apply_as(SYSTEM, "ticket.create", {"subject": subject, "body": body, "requester": {"value": who}})[0][
                "ticket_id"
            ]
        )
        for subject, body, who in (
            ("German", GERMAN, "a@example.com"),
            ("EXPLODE", ENGLISH, "b@example.com"),
            ("English", ENGLISH, "c@example.com"),
        )
    }
    expected = {
        "German": models.triage("German", [GERMAN]).fields(),
        "English": models.triage("English", [ENGLISH]).fields(),
    }
    real = language.detect

    def detect(text: str, languages: tuple[str, ...] = language.DEFAULT_LANGUAGES) -> language.LanguageGuess:
        if "EXPLODE" in text:
            raise RuntimeError("the model failed on this text")
        return real(text, languages)

    monkeypatch.setattr(language, "detect", detect)
    written = triage.triage_many(list(made.values()))

    assert set(written) == {made["German"], made["English"]}
    for subject, fields in expected.items():
        ((language_code, sentiment, intent, confidence),) = rows(
            database, "SELECT language, sentiment, intent, intent_confidence FROM ticket WHERE id = :t", t=made[subject]
        )
        assert (language_code, sentiment, intent) == (fields["language"], fields["sentiment"], fields["intent"])
        assert confidence == round(fields["intent_confidence"], 3)
    assert rows(database, "SELECT language, intent FROM ticket WHERE id = :t", t=made["EXPLODE"]) == [(None, None)]


def test_a_ticket_erased_between_read_and_write_leaks_nothing(database: ServerDatabase, monkeypatch: Any) -> None:
    """The requester erased after the batch's texts were read and before its writes: the others
    get their fields, the erased ticket keeps "(erased)" and nothing of the text read before."""
    state = create_app(database).state.server
    triage = assist.install(state)
    keep = str(
        state.apply_as(
            SYSTEM, "ticket.create", {"subject": "Keep", "body": GERMAN, "requester": {"value": "k@example.com"}}
        )[0]["ticket_id"]
    )
    gone = str(
        state.apply_as(
            SYSTEM, "ticket.create", {"subject": "Secret plan", "body": REPEAT, "requester": {"value": "e@example.com"}}
        )[0]["ticket_id"]
    )
    ((customer_id,),) = rows(database, "SELECT requester_id FROM ticket WHERE id = :t", t=gone)
    real = assist.ServerTriage._models

    def models_then_erase(triager: Any, texts: Any) -> Any:
        found = real(triager, texts)
        state.apply_as(SYSTEM, "customer.erase", {"customer_id": customer_id})
        return found

    monkeypatch.setattr(assist.ServerTriage, "_models", staticmethod(models_then_erase))
    written = triage.triage_many([keep, gone])

    assert keep in written
    assert rows(database, "SELECT language, sentiment FROM ticket WHERE id = :t", t=keep) == [("de", "negative")]
    assert rows(database, "SELECT subject FROM ticket WHERE id = :t", t=gone) == [("(erased)",)]
    leaked = rows(database, "SELECT count(*) FROM message WHERE ticket_id = :t AND body LIKE '%charged twice%'", t=gone)
    assert leaked == [(0,)]


def test_the_worker_gathers_tickets_that_arrive_soon_after(database: ServerDatabase, monkeypatch: Any) -> None:
    """A batch takes the tickets that arrive within ``GATHER`` of its first (a stream of creates
    is triaged in batches, not one by one); a full batch or the stop ends the wait at once."""
    import threading

    triage = assist.install(create_app(database).state.server)
    monkeypatch.setattr(assist, "GATHER", 60.0)
    monkeypatch.setattr(assist, "BATCH", 3)
    found: list[list[str | None]] = []
    triage.pending.put("a")
    worker = threading.Thread(target=lambda: found.append(triage._next_batch()))
    worker.start()
    triage.pending.put("b")
    triage.pending.put("c")
    worker.join(30)
    assert not worker.is_alive() and found == [["a", "b", "c"]], "a full batch does not wait"
    triage.pending.put("d")
    worker = threading.Thread(target=lambda: found.append(triage._next_batch()))
    worker.start()
    triage.pending.put(None)
    worker.join(30)
    assert not worker.is_alive() and found[1] == ["d", None], "the stop ends the wait"
