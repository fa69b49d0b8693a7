"""Customer text before the models read it, and the models themselves: hostile input,
determinism, languages and sentiment."""

from __future__ import annotations

import pytest

from supportdesk.assist import embedding, language, sentiment
from supportdesk.assist.text import MAX_CHARS, clean, sentences
from tests.assist.conftest import LANGUAGES

HOSTILE = [
    "",
    "   \n\t ",
    "\x1b[2J\x1b[H\x1b]52;c;cm0gLXJmIH4=\x07 refund please \x9b31m",
    "[@click=app.quit]Click here for your refund[/] <script>alert(1)</script>",
    "Invoice \u202egnp.exe\u202c from billing\u200b\u200d",
    "Refund ⟨U+001B⟩ please",
    "退款 возврат Rückerstattung استرداد refund 🙂" * 3,
    "x" * 5_000_000,
    "\x00\x01\x02" * 1000,
]


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_clean_strips_controls_and_markup_and_bounds_the_text(text: str) -> None:
    cleaned = clean(text)
    assert len(cleaned) <= MAX_CHARS
    assert not any(ord(c) < 32 and c != "\n" for c in cleaned)
    assert "\x1b" not in cleaned and "\x9b" not in cleaned and "\u202e" not in cleaned
    assert "[@click" not in cleaned and "<script>" not in cleaned
    assert "⟨U+" not in cleaned


def test_clean_drops_quoted_mail_and_signature() -> None:
    text = "My export is empty.\n\nThanks,\nAna\n\nOn Mon, 3 May 2026 Support wrote:\n> old text"
    assert clean(text) == "My export is empty."
    assert sentences("It fails. Why? Again!\nNew line") == ["It fails.", "Why?", "Again!", "New line"]


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_every_model_takes_hostile_text(text: str) -> None:
    vector = embedding.embedder().embed_one(text)
    assert vector.shape == (embedding.DIMENSIONS,)
    assert language.detect(text, LANGUAGES).code in (*LANGUAGES, language.UNKNOWN)
    assert sentiment.score(text, "en").label in ("negative", "neutral", "positive")


def test_embeddings_are_unit_vectors_and_deterministic() -> None:
    model = embedding.embedder()
    texts = ["Money taken twice for one subscription", "I was charged two times", "Slack stopped posting"]
    first, second = model.embed(texts), model.embed(list(texts))
    assert (first == second).all()
    assert abs(float((first[0] ** 2).sum()) - 1.0) < 1e-5
    # a paraphrase is nearer than another topic
    assert float(first[0] @ first[1]) > float(first[0] @ first[2])
    assert not model.embed_one("").any()


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Ich kann mein Passwort nicht zurücksetzen, die E-Mail kommt nicht an.", "de"),
        ("Je n'arrive pas à réinitialiser mon mot de passe.", "fr"),
        ("The password reset email never arrives.", "en"),
        ("ok", language.UNKNOWN),
        ("12345 !!!", language.UNKNOWN),
    ],
)
def test_language(text: str, code: str) -> None:
    found = language.detect(text, LANGUAGES)
    assert found.code == code
    assert 0.0 <= found.confidence <= 1.0


@pytest.mark.parametrize(
    ("text", "code", "label"),
    [
        ("This is the third time I write and nobody answers. Unacceptable!", "en", "negative"),
        ("My card was declined when I tried to upgrade.", "en", "neutral"),
        ("Thank you so much, that worked perfectly!", "en", "positive"),
        ("Das ist eine Unverschämtheit, schon wieder doppelt abgebucht!", "de", "negative"),
        ("Ich kann mein Passwort nicht zurücksetzen.", "de", "neutral"),
        ("Vielen Dank für die schnelle Hilfe, alles funktioniert wieder!", "de", "positive"),
        ("Je suis très déçu, toujours pas de remboursement.", "fr", "negative"),
        ("Ce n'est pas inacceptable, merci beaucoup.", "fr", "positive"),
    ],
)
def test_sentiment(text: str, code: str, label: str) -> None:
    found = sentiment.score(text, code)
    assert found.label == label
    assert -1.0 <= found.score <= 1.0
    assert 0.5 <= found.confidence <= 1.0
    assert sentiment.score(text, code) == found
