"""How the customer feels: negative, neutral or positive, with a score from −1 to 1.

English text is scored by VADER plus our support lexicon (:mod:`.lexicons`); every other
detected language by our lexicon for that language, with the same rules VADER uses — a negator
within three words flips a term, a booster strengthens it, exclamation marks and words in
capitals add weight — and the same squashing of the sum into −1 … 1. A language we have no
lexicon for falls back to the English one (many customers mix in English words).

Plain problem reports ("my card was declined") are neutral on purpose: most tickets report a
problem, and what a team routes on is the customer who is upset.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache

from supportdesk.assist import lexicons, models
from supportdesk.assist.text import clean, words

NEGATIVE, NEUTRAL, POSITIVE = "negative", "neutral", "positive"
#: |score| at which a text stops being neutral.
THRESHOLD = 0.3
#: How much of VADER's English compound enters the English score (our lexicon supplies the rest).
VADER_SHARE = 0.6
_READ_CHARS = 1200


@dataclass(frozen=True)
class SentimentGuess:
    label: str  # negative | neutral | positive
    score: float  # −1 (very negative) … 1 (very positive)
    confidence: float  # 0..1


@dataclass(frozen=True)
class _Compiled:
    phrases: tuple[tuple[tuple[str, ...], float], ...]  # multi-word entries, longest first
    exact: dict[str, float]
    prefixes: tuple[tuple[str, float], ...]
    negators: frozenset[str]
    boosters: frozenset[str]


@lru_cache(maxsize=32)
def _compiled(language: str) -> _Compiled:
    merged = {**lexicons.NEGATIVE.get(language, {}), **lexicons.POSITIVE.get(language, {})}
    phrases = sorted(
        ((tuple(key.split()), value) for key, value in merged.items() if " " in key), key=lambda p: -len(p[0])
    )
    exact = {k: v for k, v in merged.items() if " " not in k and not k.endswith("*")}
    prefixes = tuple((k[:-1], v) for k, v in merged.items() if " " not in k and k.endswith("*"))
    return _Compiled(
        tuple(phrases),
        exact,
        prefixes,
        lexicons.NEGATORS.get(language, frozenset()),
        lexicons.BOOSTERS.get(language, frozenset()),
    )


def _valence(word: str, lexicon: _Compiled) -> float:
    found = lexicon.exact.get(word)
    if found is not None:
        return found
    for prefix, value in lexicon.prefixes:
        if word.startswith(prefix):
            return value
    return 0.0


def lexicon_sum(text: str, language: str) -> float:
    """The raw (unsquashed) valence of ``text`` under our lexicon for ``language``."""
    lexicon = _compiled(language if language in lexicons.NEGATIVE else "en")
    tokens = words(text)
    total = 0.0
    index = 0
    while index < len(tokens):
        value, width = 0.0, 1
        for phrase, phrase_value in lexicon.phrases:
            if tuple(tokens[index : index + len(phrase)]) == phrase:
                value, width = phrase_value, len(phrase)
                break
        else:
            value = _valence(tokens[index], lexicon)
        if value:
            before = tokens[max(0, index - 3) : index]
            if any(b in lexicon.negators for b in before) and width == 1:
                value *= -0.74
            if before and before[-1] in lexicon.boosters:
                value *= 1.3
            total += value
        index += width
    return total


def _emphasis(raw: str, total: float) -> float:
    """VADER's emphasis rules: ``!`` (up to four) and SHOUTED words push the score further."""
    if total == 0:
        return 0.0
    bangs = min(raw.count("!"), 4) * 0.292
    shouted = sum(1 for w in re.findall(r"\b[^\W\d_]{3,}\b", raw) if w.isupper())
    boost = bangs + min(shouted, 4) * 0.3
    return boost if total > 0 else -boost


def _squash(total: float) -> float:
    return total / math.sqrt(total * total + 15.0)


def score(text: str, language: str = "en") -> SentimentGuess:
    """The sentiment of ``text`` written in ``language`` (an ISO 639-1 code)."""
    raw = clean(text, limit=_READ_CHARS)
    if not raw:
        return SentimentGuess(NEUTRAL, 0.0, 0.5)
    total = lexicon_sum(raw, language)
    total += _emphasis(raw, total)
    value = _squash(total)
    if language == "en" or language not in lexicons.NEGATIVE:
        compound = float(models.vader().polarity_scores(raw)["compound"])
        value = max(-1.0, min(1.0, VADER_SHARE * compound + value))
    value = round(value, 4)
    if value <= -THRESHOLD:
        label = NEGATIVE
    elif value >= THRESHOLD:
        label = POSITIVE
    else:
        label = NEUTRAL
    # distance from the nearest boundary between labels, mapped onto 0.5 … 1
    distance = min(abs(value - THRESHOLD), abs(value + THRESHOLD))
    return SentimentGuess(label, value, round(min(1.0, 0.5 + distance), 4))
