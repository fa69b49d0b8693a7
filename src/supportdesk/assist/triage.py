"""Triage: language, sentiment and intent of a ticket, each with a confidence.

One :class:`Triager` holds what triage needs — the intent model and the language list — and is
built once per process (per workspace, since intents learn from its tickets). Triage is a pure
function of the text and that model: the same ticket gets the same answer on the agent's
machine and on the server, and a run with the models loaded takes well under 5 ms (p95 in
bench/README.md).

Phase 2 stores the result as ticket fields through a named mutation; :meth:`Triage.fields`
gives the values in the shape those fields take.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from supportdesk.assist import embedding, intents, language, sentiment
from supportdesk.assist.tickets import compose, ticket_texts


@dataclass(frozen=True)
class Triage:
    language: language.LanguageGuess
    sentiment: sentiment.SentimentGuess
    intent: intents.IntentGuess

    def fields(self) -> dict[str, Any]:
        """Flat values for ticket fields (``language``, ``sentiment``, ``intent`` and scores)."""
        return {
            "language": self.language.code,
            "language_confidence": self.language.confidence,
            "sentiment": self.sentiment.label,
            "sentiment_score": self.sentiment.score,
            "sentiment_confidence": self.sentiment.confidence,
            "intent": self.intent.name,
            "intent_confidence": self.intent.confidence,
        }


class Triager:
    """Triage with one intent model and one list of languages."""

    def __init__(
        self,
        intent_model: intents.IntentModel,
        *,
        languages: tuple[str, ...] = language.DEFAULT_LANGUAGES,
        embedder: embedding.Embedder | None = None,
    ) -> None:
        self.intent_model = intent_model
        self.languages = languages
        self.embedder = embedder or embedding.embedder()

    def triage_text(self, text: str) -> Triage:
        """Triage of a ticket's model text (:func:`.tickets.compose`)."""
        found_language = language.detect(text, self.languages)
        found_sentiment = sentiment.score(text, found_language.code)
        vector = self.embedder.embed_one(text, cleaned=True)
        return Triage(found_language, found_sentiment, self.intent_model.classify(vector))

    def triage(self, subject: str, customer_messages: Sequence[str]) -> Triage:
        """Triage of a ticket from its subject and the customer's messages (a new ticket)."""
        return self.triage_text(compose(subject, customer_messages))

    def triage_ticket(self, connection: sqlite3.Connection, ticket_id: str) -> Triage | None:
        """Triage of a stored ticket; ``None`` if there is no such ticket."""
        text = ticket_texts(connection, [ticket_id]).get(ticket_id)
        return None if text is None else self.triage_text(text)


def triager(
    connection: sqlite3.Connection | None = None,
    *,
    intent_list: Sequence[intents.Intent] | None = None,
    corrections: Mapping[str, str] | None = None,
    languages: tuple[str, ...] = language.DEFAULT_LANGUAGES,
    per_intent: int = 50,
    examples: intents.ExampleSource | None = None,
) -> Triager:
    """A triager whose intents are ``intent_list`` (default: the shipped seed), learned further
    from past tickets' tags and agents' corrections: the workspace's when ``connection`` is
    given, or those of ``examples`` (the team server's database)."""
    chosen = list(intent_list) if intent_list is not None else intents.seed()
    model = embedding.embedder()
    source = examples if examples is not None else connection
    learned = (
        intents.learn(source, chosen, corrections=corrections, per_intent=per_intent) if source is not None else []
    )
    return Triager(intents.IntentModel.build(model, chosen, learned), languages=languages, embedder=model)
