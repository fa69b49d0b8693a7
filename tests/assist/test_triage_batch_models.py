"""Triage of many tickets at once (``Triager.triage_many``: one embedding call, one intent
search for the batch) must give each ticket exactly what triaging it alone gives — every field,
every confidence, the intent's similarity — whatever else is in the batch and wherever it sits,
hostile text included (empty, huge, control sequences, invisible characters, no letters)."""

from __future__ import annotations

import random

import numpy as np
import pytest

from supportdesk.assist import intents
from supportdesk.assist.embedding import embedder
from supportdesk.assist.triage import Triager, triager
from tests.assist.conftest import LANGUAGES

TICKETS: list[tuple[str, list[str]]] = [
    ("Doppelte Abbuchung", ["Sie haben mir den Betrag zweimal abgebucht, das ist eine Frechheit!"]),
    ("Export question", ["Thanks a lot, the new dashboard is lovely. How do I export a report to CSV?"]),
    ("Remboursement", ["Je voudrais un remboursement de ma commande, c'est inadmissible."]),
    ("Charged twice", ["My card was charged twice for order 1234, please refund the second payment."]),
    ("Cannot log in", ["I reset my password and still cannot log in. THIS IS AWFUL!!!"]),
    ("", []),  # nothing at all
    ("   ", ["", "\n\n"]),  # only space
    ("ok", ["👍"]),  # no language to read
    ("\x1b[31mRED\x1b[0m \x1b]8;;http://evil.test\x07link\x1b]8;;\x07", ["\x00\x07\x08 bell \x9b31m and \x7f"]),
    ("zero\u200bwidth\u202e reversed", ["\ufeffInvoice\u2066 missing\u2069 since May"]),
    ("[bold]markup[/bold] <script>alert(1)</script>", ["[link=http://x]click[/link] my invoice is wrong"]),
    ("Huge", ["word " * 400_000, "second message never read"]),  # 2 MB: read to the bound only
    ("Many messages", [f"message {n}: where is my parcel?" for n in range(200)]),
    ("Charged twice", ["My card was charged twice for order 1234, please refund the second payment."]),  # a repeat
]


@pytest.fixture(scope="module")
def models() -> Triager:
    return triager(languages=LANGUAGES)


def test_a_batch_gives_each_ticket_what_it_gets_alone(models: Triager) -> None:
    alone = [models.triage(subject, messages) for subject, messages in TICKETS]

    together = models.triage_many(TICKETS)

    assert together == alone  # frozen dataclasses: language, sentiment, intent, every confidence
    assert [t.fields() for t in together] == [t.fields() for t in alone]
    # wherever a ticket sits and whatever else is in the batch
    order = list(range(len(TICKETS)))
    random.Random(20).shuffle(order)
    shuffled = models.triage_many([TICKETS[n] for n in order])
    assert shuffled == [alone[n] for n in order]
    for size in (1, 2, 5):
        for start in range(0, len(TICKETS), size):
            assert models.triage_many(TICKETS[start : start + size]) == alone[start : start + size]
    # the answers are the models' own, not blanks: the real tickets got a language and an intent
    assert alone[0].language.code == "de" and alone[0].sentiment.label == "negative"
    assert alone[2].language.code == "fr"
    assert alone[5].language.code == "unknown" and alone[5].intent.name == "unknown"
    assert alone[7].language.code == "unknown"


def test_the_intent_search_of_a_batch_is_the_search_of_each_row(models: Triager) -> None:
    model = models.intent_model
    rng = np.random.default_rng(20)
    words = "payment card declined refund login password export report invoice parcel order slow angry".split()
    texts = [" ".join(rng.choice(words, size=int(rng.integers(1, 40)))) for _ in range(300)]
    vectors = embedder().embed(texts)
    vectors[7] = 0.0  # a text without tokens embeds as zeros

    alone = [model.classify(vector) for vector in vectors]

    assert model.classify_many(vectors) == alone
    assert [g for n in range(0, 300, 32) for g in model.classify_many(vectors[n : n + 32])] == alone
    assert alone[7] == intents.IntentGuess(intents.UNKNOWN, 0.0, 0.0)
    assert model.classify_many(vectors[:0]) == []


def test_an_empty_intent_model_answers_unknown_for_every_row() -> None:
    empty = intents.IntentModel.build(embedder(), [])
    vectors = embedder().embed(["refund please", ""])
    assert empty.classify_many(vectors) == [intents.IntentGuess(intents.UNKNOWN, 0.0, 0.0)] * 2


def test_a_model_failing_on_one_text_fails_the_batch_call(models: Triager, monkeypatch: pytest.MonkeyPatch) -> None:
    """The batch call raises rather than answering for some texts only; the server then triages
    the tickets one by one (tests/server/test_triage_batch.py)."""
    from supportdesk.assist import language

    real = language.detect

    def detect(text: str, languages: tuple[str, ...] = LANGUAGES) -> language.LanguageGuess:
        if "EXPLODE" in text:
            raise RuntimeError("the model failed")
        return real(text, languages)

    monkeypatch.setattr(language, "detect", detect)
    with pytest.raises(RuntimeError):
        models.triage_many([TICKETS[0], ("EXPLODE", ["now"])])
    assert models.triage_many([TICKETS[0]]) == [models.triage(*TICKETS[0])]
