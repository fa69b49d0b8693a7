"""Triage as ticket fields: ``ticket.triage`` writes them, a person's correction wins and teaches
the intents, the query language and routing rules read them (issue 15, phase 2)."""

from __future__ import annotations

from typing import Any

import pytest

from supportdesk.assist import arrival
from supportdesk.domain import write
from supportdesk.domain.context import SYSTEM
from supportdesk.domain.errors import NotFound, ValidationFailed
from supportdesk.store.query import QueryError, compile_query
from tests.assist.conftest import LANGUAGES
from tests.conftest import Team

GUESS = {
    "language": "de",
    "language_confidence": 0.97,
    "sentiment": "negative",
    "sentiment_score": -0.81234,
    "sentiment_confidence": 0.9,
    "intent": "refund",
    "intent_confidence": 0.88,
}


def new_ticket(team: Team, subject: str = "Geld zweimal abgebucht", body: str = "Bitte erstatten Sie es.") -> str:
    args = {"subject": subject, "body": body, "requester": {"value": "kim@example.com"}, "group_id": team.tier1}
    return str(write.apply(team.workspace, "ticket.create", args, actor=SYSTEM).result["ticket_id"])


def fields(team: Team, ticket_id: str) -> dict[str, Any]:
    with team.workspace.reading() as connection:
        row = connection.execute(
            "SELECT language, language_confidence, sentiment, sentiment_score, sentiment_confidence, intent, "
            "intent_confidence, updated_at FROM ticket WHERE id = ?",
            (ticket_id,),
        ).fetchone()
    return dict(row)


def audits(team: Team, ticket_id: str) -> list[tuple[str, str, Any]]:
    with team.workspace.reading() as connection:
        rows = connection.execute(
            "SELECT mutation, field, after FROM audit_event WHERE entity_id = ? AND mutation != 'ticket.create' "
            "ORDER BY id",
            (ticket_id,),
        )
        return [tuple(r) for r in rows]


def search(team: Team, query: str) -> list[str]:
    compiled = compile_query(query)
    with team.workspace.reading() as connection:
        return [r[0] for r in connection.execute(f"SELECT t.id FROM ticket t WHERE {compiled.where}", compiled.params)]


def test_triage_writes_the_fields_and_confidences_audited_without_touching_updated(team: Team) -> None:
    ticket_id = new_ticket(team)
    before = fields(team, ticket_id)["updated_at"]
    result = write.apply(team.workspace, "ticket.triage", {"ticket_id": ticket_id, **GUESS}, actor=SYSTEM).result
    stored = fields(team, ticket_id)
    assert stored["language"] == "de" and stored["sentiment"] == "negative" and stored["intent"] == "refund"
    assert stored["sentiment_score"] == -0.812 and stored["intent_confidence"] == 0.88
    assert stored["updated_at"] == before  # triage is not activity on the ticket
    assert {"language", "sentiment", "intent"} <= set(result["changed"])
    assert ("ticket.triage", "intent", '"refund"') in audits(team, ticket_id)  # JSON, as every audit


def test_a_correction_by_hand_wins_over_triage_and_teaches_the_intents(team: Team) -> None:
    ticket_id = new_ticket(team)
    write.apply(team.workspace, "ticket.triage", {"ticket_id": ticket_id, **GUESS}, actor=SYSTEM)
    field_write = ("ticket.set_field", {"ticket_id": ticket_id, "field": "intent", "value": "Billing_Question"})
    team.as_(team.agent, *field_write)
    corrected = fields(team, ticket_id)
    assert corrected["intent"] == "billing_question" and corrected["intent_confidence"] is None
    again = write.apply(team.workspace, "ticket.triage", {"ticket_id": ticket_id, **GUESS}, actor=team.agent).result
    assert again["kept"] == ["intent"]
    assert fields(team, ticket_id)["intent"] == "billing_question"
    with team.workspace.reading() as connection:
        # the agent's correction is an example; triage's own writes (even under an agent) are not
        assert arrival.corrections(connection) == {ticket_id: "billing_question"}


def test_triage_and_corrections_refuse_hostile_values(team: Team) -> None:
    ticket_id = new_ticket(team)
    for bad in ({"intent": "[bold]refund"}, {"intent": "x" * 41}, {"sentiment": "furious"}, {"intent_confidence": 2}):
        with pytest.raises(ValidationFailed):
            write.apply(team.workspace, "ticket.triage", {"ticket_id": ticket_id, **GUESS, **bad}, actor=SYSTEM)
    with pytest.raises(ValidationFailed):
        team.as_(team.agent, "ticket.set_field", {"ticket_id": ticket_id, "field": "intent", "value": "\x1b[31mre"})
    with pytest.raises(ValidationFailed):
        team.as_(team.agent, "ticket.set_field", {"ticket_id": ticket_id, "field": "sentiment", "value": "angry"})
    # another group's agent cannot see the ticket, so cannot triage or correct it
    with pytest.raises(NotFound):
        team.as_(team.other, "ticket.triage", {"ticket_id": ticket_id, **GUESS})
    with pytest.raises(NotFound):
        team.as_(team.other, "ticket.set_field", {"ticket_id": ticket_id, "field": "intent", "value": "refund"})
    assert fields(team, ticket_id)["intent"] is None


def test_the_query_language_finds_tickets_by_triage(team: Team) -> None:
    german = new_ticket(team)
    english = new_ticket(team, "Thanks", "Thank you, all good")
    write.apply(team.workspace, "ticket.triage", {"ticket_id": german, **GUESS}, actor=SYSTEM)
    happy = {"language": "en", "sentiment": "positive", "intent": "praise", "intent_confidence": 0.5}
    write.apply(team.workspace, "ticket.triage", {"ticket_id": english, **happy}, actor=SYSTEM)
    assert search(team, "lang:de") == [german] == search(team, "language:DE")
    assert search(team, "sentiment:negative intent:refund") == [german]
    assert search(team, "-sentiment:negative") == [english]
    assert sorted(search(team, "intent:refund,praise")) == sorted([german, english])
    with pytest.raises(QueryError, match="not a sentiment"):
        compile_query("sentiment:furious")


def test_a_rule_routes_on_triage_when_triaged(team: Team) -> None:
    definition = {
        "name": "German and angry to Billing",
        "when": ["triaged"],
        "conditions": {"language": ["de"], "sentiment_score_below": "-0.5"},
        "actions": [{"set_group": "Billing"}, {"set_priority": "urgent"}],
    }
    write.apply(team.workspace, "rule.create", {"definition": definition}, actor=team.admin)
    ticket_id = new_ticket(team)
    with team.workspace.reading() as connection:
        assert connection.execute("SELECT group_id FROM ticket WHERE id = ?", (ticket_id,)).fetchone()[0] == team.tier1
    write.apply(team.workspace, "ticket.triage", {"ticket_id": ticket_id, **GUESS}, actor=SYSTEM)
    with team.workspace.reading() as connection:
        row = connection.execute("SELECT group_id, priority FROM ticket WHERE id = ?", (ticket_id,)).fetchone()
    assert tuple(row) == (team.billing, "urgent")
    bad = {**definition, "conditions": {"sentiment_score_below": "very"}}
    with pytest.raises(ValidationFailed, match="sentiment_score_below"):
        write.apply(team.workspace, "rule.create", {"definition": bad}, actor=team.admin)


def test_triage_new_reads_the_ticket_with_the_real_models(team: Team) -> None:
    from supportdesk import assist

    ticket_id = new_ticket(
        team,
        "Zweimal abgebucht <script>alert(1)</script>",
        "Sie haben mir das Geld zweimal abgebucht! Das ist eine Frechheit, ich will mein Geld sofort zurück.",
    )
    with team.workspace.reading() as connection:
        chosen = assist.triager(connection, languages=LANGUAGES)
    written = arrival.triage_new(team.workspace, [ticket_id, "no-such-ticket"], actor=SYSTEM, chosen=chosen)
    assert [w["ticket_id"] for w in written] == [ticket_id]
    stored = fields(team, ticket_id)
    assert stored["language"] == "de" and stored["sentiment"] == "negative"
    assert stored["intent"] and 0 <= stored["intent_confidence"] <= 1
