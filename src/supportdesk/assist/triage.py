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
        return self.triage_texts([text])[0]

    def triage_texts(self, texts: Sequence[str]) -> list[Triage]:
        """:meth:`triage_text` of each text, the batch at once where a model allows it: one
        embedding call for all (the tokenizer encodes the list in one call) and one intent
        search (:meth:`.intents.IntentModel.classify_many`). Language and sentiment go text by
        text: Lingua's list call (``compute_language_confidence_values_in_parallel``) costs the
        same CPU on two cores and holds the interpreter lock for the whole list, where a call
        per text lets a server's request threads in between (bench/README). A text's answer is
        the same in a batch as alone. A model raising for one text raises for the batch: the
        caller triages the texts one by one then (``server.assist``)."""
        found_languages = [language.detect(text, self.languages) for text in texts]
        found_sentiments = [
            sentiment.score(text, guess.code) for text, guess in zip(texts, found_languages, strict=True)
        ]
        vectors = self.embedder.embed(list(texts), cleaned=True)
        found_intents = self.intent_model.classify_many(vectors)
        return [Triage(*guesses) for guesses in zip(found_languages, found_sentiments, found_intents, strict=True)]

    def triage(self, subject: str, customer_messages: Sequence[str]) -> Triage:
        """Triage of a ticket from its subject and the customer's messages (a new ticket)."""
        return self.triage_text(compose(subject, customer_messages))

    def triage_many(self, tickets: Sequence[tuple[str, Sequence[str]]]) -> list[Triage]:
        """:meth:`triage` of each ``(subject, customer messages)``, as one batch
        (:meth:`triage_texts`)."""
        return self.triage_texts([compose(subject, messages) for subject, messages in tickets])

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
