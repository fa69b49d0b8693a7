"""Free text as PostgreSQL full-text search over each ticket's stored document (migration 0027),
with FTS5's meaning: words, ``"phrases"``, ``word*`` prefixes, ``-left out``.

Why it is its own module: what a query costs on PostgreSQL depends on how its ``tsquery`` is
written, not only on what it means (bench/README.md, issue 13). Two shapes cost seconds on a
100,000-ticket database at the parser's 2,000 characters, each query a plain agent may send:

- the same word many times (``the the the …``, 499 times: 7.0 s): every copy became an item of
  one ``tsquery``, and the GIN index's consistency check walks all of them for every candidate
  ticket. A word, phrase or prefix said twice means what it means once (FTS5's ``AND``), so each
  distinct term is asked once.
- a long phrase of common words (``"the the … the"``, 498 words: 6.8 s; ``"a a … a"``, 998 words:
  10.9 s): the GIN index cannot see positions, so it tested the whole phrase tree on every ticket
  holding the word, and a ticket walked newest first was tested against the whole phrase too.
  A phrase of more than :data:`CHUNK` words now gives the index its first :data:`CHUNK` words
  (the same phrase must hold them, in order), and the whole phrase is checked — after its other
  chunks, each cheap — only on the tickets that hold that beginning, through ``ts_match_vq``, the
  function behind ``@@``, which no index answers (so the index never walks the long tree).

The words go to PostgreSQL as bound parameters through the documents' own normalisation
(``supportdesk_search_text``); only a prefix's last word is quoted into ``to_tsquery`` syntax, by
``quote_literal``, so no input is read as an operator.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

#: A word as FTS5's unicode61 tokenizer sees one: a run of letters and digits.
WORD = re.compile(r"[^\W_]+")

#: Words of a phrase given to the GIN index (and of each chunk checked before the whole phrase).
CHUNK = 8


@dataclass(frozen=True)
class TextTerm:
    """One free-text term's words; ``prefix`` when its last word is a prefix (``word*``)."""

    words: tuple[str, ...]
    prefix: bool = False


@dataclass(frozen=True)
class TextCondition:
    """A term as SQL: ``indexed`` is a ``tsquery`` every match satisfies (the GIN index may answer
    it); ``exact``, when not None, the ``tsquery`` that decides (checked only where ``indexed``
    holds), None when ``indexed`` is the term itself; ``whole`` the term as one ``tsquery``."""

    indexed: str
    exact: str | None
    whole: str


def text_term(value: str, prefix: bool) -> TextTerm | None:
    """The words of one free-text term; None when it holds none (FTS5 ignores it too)."""
    words = tuple(WORD.findall(value))
    return TextTerm(words, prefix) if words else None


def distinct(terms: list[TextTerm]) -> list[TextTerm]:
    """The terms once each, in their order: a term said twice means what it means once."""
    return list(dict.fromkeys(terms))


def compile_term(term: TextTerm, add: Callable[[str], str]) -> TextCondition:
    """``term`` as :class:`TextCondition`; ``add`` binds a value and returns its placeholder."""

    def phrase(words: tuple[str, ...]) -> str:
        return f"phraseto_tsquery('simple'::regconfig, supportdesk_search_text({add(' '.join(words))}))"

    def whole() -> str:
        if not term.prefix:
            return phrase(term.words)
        last = f"to_tsquery('simple'::regconfig, quote_literal(supportdesk_search_text({add(term.words[-1])})) || ':*')"
        return last if len(term.words) == 1 else f"tsquery_phrase({phrase(term.words[:-1])}, {last})"

    if len(term.words) <= CHUNK:
        itself = whole()
        return TextCondition(itself, None, itself)
    fixed = term.words[:-1] if term.prefix else term.words
    chunks = list(dict.fromkeys(fixed[at : at + CHUNK] for at in range(0, len(fixed), CHUNK)))
    first = phrase(chunks[0])
    full = whole()
    # a first chunk of words that all normalise to nothing would be an empty tsquery, which
    # matches nothing: then the index is given the whole phrase, as before
    indexed = f"(CASE WHEN numnode({first}) > 0 THEN {first} ELSE {full} END)"
    # && of an empty tsquery is the other operand: an empty later chunk checks nothing
    exact = " && ".join(f"({q})" for q in [*(phrase(c) for c in chunks[1:]), full])
    return TextCondition(indexed, exact, full)


def matching(conditions: list[TextCondition], combine: str) -> str:
    """Tickets whose document satisfies every (``combine`` ``&&``) or any (``||``) condition:
    one lookup of the documents, as FTS5 gets one ``MATCH`` — a condition per word made a
    semi-join per word, and fifty of a common word ran for minutes (attack13).

    Written as an ``IN`` so the planner chooses: from the GIN index for a rare word, or walking
    tickets in the page's order and testing each one's stored document for a common one. The
    exact checks, if any, are a second filter the index never sees.
    """
    indexed = "(" + f" {combine} ".join(f"({c.indexed})" for c in conditions) + ")"
    where = f"ts.document @@ {indexed}"
    if any(c.exact is not None for c in conditions):
        if combine == "&&":  # every short term was decided by the index condition already
            exact = " && ".join(f"({c.exact})" for c in conditions if c.exact is not None)
        else:  # any term may be the one that holds: each decided by its own exact query
            exact = " || ".join(f"({c.exact if c.exact is not None else c.whole})" for c in conditions)
        where += f" AND ts_match_vq(ts.document, ({exact}))"
    return f"t.id IN (SELECT ts.ticket_id FROM ticket_search ts WHERE {where})"


def rank_query(conditions: list[TextCondition]) -> str:
    """The ``tsquery`` ``sort:relevance`` ranks by: every positive term, whole."""
    return " && ".join(f"({c.whole})" for c in conditions)
