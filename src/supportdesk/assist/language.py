"""Which language a customer writes in: Lingua over the configured languages.

Lingua is accurate on short text (a subject line, a chat message) where n-gram detectors
guess. Detection is restricted to the languages a team supports (:data:`DEFAULT_LANGUAGES`,
or a workspace's own list): fewer candidates are both faster to load and more accurate.
"""

from __future__ import annotations

from dataclasses import dataclass

from supportdesk.assist import models
from supportdesk.assist.text import clean

#: ISO 639-1 codes detected when a workspace names none.
DEFAULT_LANGUAGES: tuple[str, ...] = ("en", "de", "fr", "es", "it", "pt", "nl", "sv", "da", "pl")
UNKNOWN = "unknown"
#: Fewer letters than this and the text (an emoji, "ok", a number) says nothing about a language.
MIN_LETTERS = 3
_READ_CHARS = 400


@dataclass(frozen=True)
class LanguageGuess:
    code: str  # ISO 639-1, or "unknown"
    confidence: float  # 0..1


def detect(text: str, languages: tuple[str, ...] = DEFAULT_LANGUAGES) -> LanguageGuess:
    """The most likely language of ``text`` among ``languages``, with Lingua's confidence."""
    sample = clean(text, limit=_READ_CHARS)
    if sum(ch.isalpha() for ch in sample) < MIN_LETTERS:
        return LanguageGuess(UNKNOWN, 0.0)
    detector = models.language_detector(tuple(sorted(set(languages))))
    values = detector.compute_language_confidence_values(sample)
    if not values:
        return LanguageGuess(UNKNOWN, 0.0)
    best = values[0]
    return LanguageGuess(best.language.iso_code_639_1.name.lower(), round(float(best.value), 4))
