"""Customer-facing text in the customer's language: Babel catalogues shipped in the package.

The language is, in order: a ``lang`` query parameter (the language switch's links), the
``help_lang`` cookie the switch sets, the best match of ``Accept-Language``, the first configured
language. Catalogues are compiled ``.mo`` files under ``locales/`` (``make help-catalogues``
rebuilds them from the ``.po`` sources) and loaded once per process.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from babel.support import NullTranslations, Translations

LOCALES = Path(__file__).parent / "locales"
DOMAIN = "messages"
COOKIE = "help_lang"


@cache
def translations(language: str) -> NullTranslations:
    """The catalogue of ``language`` (English, the source language, translates to itself)."""
    if language == "en":
        return NullTranslations()
    return Translations.load(str(LOCALES), [language], DOMAIN)


def parse_accept_language(header: str) -> list[str]:
    """Primary language tags of an ``Accept-Language`` header, most wanted first."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                quality = float(params[2:])
            except ValueError:
                quality = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary and quality > 0:
            ranked.append((-quality, position, primary))
    return [tag for _, _, tag in sorted(ranked)]


def choose_language(offered: tuple[str, ...], *, query: str | None, cookie: str | None, accept: str) -> str:
    """The page's language (see the module docstring)."""
    for wanted in (query, cookie):
        if wanted in offered:
            return wanted
    for wanted in parse_accept_language(accept):
        if wanted in offered:
            return wanted
    return offered[0]
