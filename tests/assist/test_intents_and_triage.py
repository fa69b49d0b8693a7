"""Intents from YAML, from past tickets' tags and from agents' corrections; triage as a whole."""

from __future__ import annotations

from contextlib import closing

import pytest

from supportdesk.assist import embedding, intents
from supportdesk.assist.triage import Triager, triager
from supportdesk.demo.content import TOPICS
from supportdesk.store.workspace import Workspace
from tests.assist.conftest import LANGUAGES


def test_the_seed_has_one_intent_per_demo_topic() -> None:
    seeded = {i.name: i for i in intents.seed()}
    assert set(seeded) == {topic.key for topic in TOPICS}
    for topic in TOPICS:
        assert set(seeded[topic.key].tags) <= set(topic.tags)
        assert topic.subjects[0] in seeded[topic.key].examples


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("intents: [", "not valid YAML"),
        ("- a\n- b", "a list under 'intents'"),
        ("intents:\n  - name: Bad Name\n", "name must be"),
        ("intents:\n  - name: unknown\n", "reserved"),
        ("intents:\n  - name: a\n  - name: a\n", "used twice"),
        ("intents:\n  - name: a\n    tags: yes\n", "tags must be"),
        ("intents:\n  - name: a\n    examples: [1, 2]\n", "examples must be"),
        ("intents:\n" + "  - name: x{}\n" * 0 + "".join(f"  - name: i{n}\n" for n in range(201)), "at most 200"),
    ],
)
def test_a_bad_intent_file_is_one_clear_error(text: str, message: str) -> None:
    with pytest.raises(intents.IntentFileError, match=message):
        intents.parse(text)


def test_examples_are_capped_and_markup_is_just_text() -> None:
    parsed = intents.parse("intents:\n  - name: a\n    examples: ['[@click=app.quit]x" + "y" * 5000 + "']\n")
    assert len(parsed[0].examples[0]) == intents.MAX_EXAMPLE_CHARS


def test_the_most_specific_intent_wins_for_tags() -> None:
    seeded = intents.seed()
    assert intents.intent_for_tags(seeded, ["billing", "payment"]) == "double-charge"
    assert intents.intent_for_tags(seeded, ["billing", "payment", "card_declined"]) == "card-declined"
    assert intents.intent_for_tags(seeded, ["billing"]) is None


def test_classification_is_nearest_examples_and_deterministic() -> None:
    model = intents.IntentModel.build(embedding.embedder(), intents.seed())
    vector = embedding.embedder().embed_one("My card was charged twice for one payment")
    first = model.classify(vector)
    assert first.name == "double-charge"
    assert 0 < first.confidence <= 1
    assert model.classify(vector) == first
    assert model.classify(embedding.embedder().embed_one("")).name == intents.UNKNOWN


def test_learning_from_tags_and_corrections(indexed_demo: Workspace) -> None:
    with closing(indexed_demo.connect()) as connection:
        learned = intents.learn(connection, intents.seed(), per_intent=5)
        assert learned and all(item.source != "yaml" for item in learned)
        by_intent: dict[str, int] = {}
        for item in learned:
            by_intent[item.intent] = by_intent.get(item.intent, 0) + 1
        assert max(by_intent.values()) <= 5
        # an agent's correction makes that ticket an example of the corrected intent only
        ticket_id = learned[0].source
        corrected = intents.learn(connection, intents.seed(), per_intent=5, corrections={ticket_id: "gdpr"})
        assert [i.intent for i in corrected if i.source == ticket_id] == ["gdpr"]
        # unknown intents in corrections are ignored
        ignored = intents.learn(connection, intents.seed(), per_intent=1, corrections={ticket_id: "nope"})
        assert all(i.intent != "nope" for i in ignored)


def test_corrections_are_read_from_the_audit(indexed_demo: Workspace, tmp_path: object) -> None:
    with closing(indexed_demo.connect()) as connection:
        connection.execute("BEGIN")
        connection.execute(
            "INSERT INTO audit_event (at, actor_id, mutation, mutation_ref, entity, entity_id, field, before, after) "
            "VALUES ('2026-11-25 12:00:00.000000', 'agent-1', 'ticket.triage', '', 'ticket', 't-1', 'intent', "
            "'\"refund\"', '\"double-charge\"')"
        )
        connection.execute(
            "INSERT INTO audit_event (at, actor_id, mutation, mutation_ref, entity, entity_id, field, before, after) "
            "VALUES ('2026-11-25 12:00:00.000000', NULL, 'ticket.triage', '', 'ticket', 't-2', 'intent', NULL, "
            "'\"refund\"')"
        )
        try:
            assert intents.corrections_from_audit(connection) == {"t-1": "double-charge"}
        finally:
            connection.execute("ROLLBACK")


def test_triage_of_a_ticket(indexed_demo: Workspace) -> None:
    with closing(indexed_demo.connect()) as connection:
        found = triager(connection, languages=LANGUAGES, per_intent=20)
        again = Triager(found.intent_model, languages=LANGUAGES)
        result = found.triage("Charged twice!", ["You took the money twice, this is unacceptable. Fix it now!"])
        assert result.language.code == "en"
        assert result.sentiment.label == "negative"
        assert result.intent.name == "double-charge"
        assert again.triage("Charged twice!", ["You took the money twice, this is unacceptable. Fix it now!"]) == result
        fields = result.fields()
        assert set(fields) == {
            "language", "language_confidence", "sentiment", "sentiment_score",
            "sentiment_confidence", "intent", "intent_confidence",
        }  # fmt: skip
        ticket_id = connection.execute("SELECT id FROM ticket ORDER BY rowid LIMIT 1").fetchone()[0]
        assert found.triage_ticket(connection, ticket_id) is not None
        assert found.triage_ticket(connection, "no-such-ticket") is None
        empty = found.triage("", [])
        assert (empty.language.code, empty.sentiment.label, empty.intent.name) == ("unknown", "neutral", "unknown")
