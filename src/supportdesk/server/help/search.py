"""Search over the public articles, ranked the way the agents' knowledge base ranks.

The server's database may be PostgreSQL, which has no FTS5, so the help center keeps its own
small index: the public articles in an in-memory SQLite FTS5 table with the agents' tokenizer
and bm25 weights (title 4, body 1, tags 2), plus their embeddings from the assist engine
(:mod:`supportdesk.assist.embedding`). A query's words must all match (the last one as a
prefix, so results follow typing); articles that mean the same in other words join when their
cosine passes :data:`SEMANTIC_MIN`. The two rankings are fused by weighted reciprocal rank with
the assist engine's weights, as its article suggestions are.

The index is rebuilt when the public articles change (their count and latest ``updated_at``,
one cheap query per search), so publishing an article shows it at the next keystroke. Only
public articles are ever in it: nothing a customer types can reach an internal one.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import text

from supportdesk.assist.library import BM25_WEIGHT, EMBEDDING_WEIGHT, RRF_K, article_text, fts_phrase, query_words

if TYPE_CHECKING:
    import numpy as np

    from supportdesk.server.db import ServerDatabase

#: Cosine above which an article sharing no word with the query is still a result.
SEMANTIC_MIN = 0.42
#: Longest query looked at (characters) and most words used.
MAX_QUERY = 200
MAX_WORDS = 12
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class Hit:
    id: str
    slug: str
    title: str
    section: str
    snippet: str


@dataclass(frozen=True)
class Answer:
    """The article the answer bot would offer for a request, and how sure it is (0–1)."""

    hit: Hit
    #: The cosine between the request and the article when bm25 and meaning both rank it first;
    #: 0 when they disagree (see :meth:`HelpSearch.answer`).
    confidence: float
    #: The cosine of the article meaning ranks second (0 with one article): how close a call it was.
    runner_up: float


#: Characters of a request the answer bot reads (subject and first message).
MAX_REQUEST = 4000


@dataclass
class _Index:
    signature: tuple[Any, ...]
    fts: sqlite3.Connection
    hits: dict[int, Hit]
    vectors: np.ndarray | None


def _snippet(body: str, limit: int = 180) -> str:
    return plain_extract(body, limit)


def plain_extract(body: str, limit: int) -> str:
    """The start of an article's Markdown as one line of plain text, cut at a word."""
    plain = re.sub(r"[#*_`>\[\]()!|-]+", " ", body)
    plain = " ".join(plain.split())
    return plain if len(plain) <= limit else plain[: limit - 1].rsplit(" ", 1)[0] + "…"


class HelpSearch:
    """The public articles' search index of one server process (thread-safe)."""

    def __init__(self, database: ServerDatabase, *, semantic: bool = True) -> None:
        self.database = database
        self.semantic = semantic
        self._index: _Index | None = None
        self._lock = threading.Lock()

    def _signature(self) -> tuple[Any, ...]:
        with self.database.read_engine.connect() as connection:
            row = connection.execute(
                text("SELECT count(*), max(updated_at) FROM kb_article WHERE public = :yes"), {"yes": True}
            ).one()
        return (row[0], str(row[1]))

    def _build(self, signature: tuple[Any, ...]) -> _Index:
        with self.database.read_engine.connect() as connection:
            rows = connection.execute(
                text("SELECT id, slug, title, body, tags, section FROM kb_article WHERE public = :yes ORDER BY id"),
                {"yes": True},
            ).all()
        fts = sqlite3.connect(":memory:", check_same_thread=False)
        fts.execute(
            "CREATE VIRTUAL TABLE public_fts USING fts5(title, body, tags, tokenize='unicode61 remove_diacritics 2')"
        )
        hits: dict[int, Hit] = {}
        for rowid, row in enumerate(rows, start=1):
            fts.execute(
                "INSERT INTO public_fts(rowid, title, body, tags) VALUES (?, ?, ?, ?)",
                (rowid, row.title, row.body, row.tags.replace(",", " ")),
            )
            hits[rowid] = Hit(row.id, row.slug, row.title, row.section, _snippet(row.body))
        vectors = None
        if self.semantic and rows:
            from supportdesk.assist import embedding

            vectors = embedding.embedder().embed([article_text(row.title, row.body) for row in rows])
        return _Index(signature, fts, hits, vectors)

    def _current(self) -> _Index:
        signature = self._signature()
        with self._lock:
            if self._index is None or self._index.signature != signature:
                if self._index is not None:
                    self._index.fts.close()
                self._index = self._build(signature)
            return self._index

    def search(self, query: str, *, limit: int = 10) -> list[Hit]:
        """Public articles for ``query``, best first (none for an empty query)."""
        query = query[:MAX_QUERY]
        words = [w.lower() for w in _WORD.findall(query)][:MAX_WORDS]
        if not words:
            return []
        index = self._current()
        with self._lock:
            match = " AND ".join([*(fts_phrase(w) for w in words[:-1]), fts_phrase(words[-1]) + "*"])
            lexical = [
                r[0]
                for r in index.fts.execute(
                    "SELECT rowid FROM public_fts WHERE public_fts MATCH ? "
                    "ORDER BY bm25(public_fts, 4.0, 1.0, 2.0), rowid LIMIT 50",
                    (match,),
                )
            ]
        scores: dict[int, float] = {}
        for rank, rowid in enumerate(lexical, start=1):
            scores[rowid] = BM25_WEIGHT / (RRF_K + rank)
        if index.vectors is not None and len(query.strip()) >= 3:
            import numpy as np

            from supportdesk.assist import embedding

            vector = embedding.embedder().embed_one(query)
            if np.any(vector):
                similarity = index.vectors @ vector
                order = np.lexsort((np.arange(len(similarity)), -similarity))
                for rank, position in enumerate(order, start=1):
                    rowid = int(position) + 1
                    if rowid in scores or similarity[position] >= SEMANTIC_MIN:
                        scores[rowid] = scores.get(rowid, 0.0) + EMBEDDING_WEIGHT / (RRF_K + rank)
        ranked = sorted(scores, key=lambda rowid: (-scores[rowid], rowid))[:limit]
        return [index.hits[rowid] for rowid in ranked]

    def answer(self, request: str) -> Answer | None:
        """The public article that best answers a customer's request, with a confidence.

        The bot must be right far more often than search must be useful, so it asks both of
        the agents' rankings and trusts only their agreement: the article the request's
        distinctive words rank first by bm25 (OR-ed, as the KB panel does for a ticket) must be
        the article its meaning ranks first by cosine. The confidence is then that cosine; when
        they disagree it is 0 — the bot stays silent and an agent answers. None when there is
        no public article, no meaning model (``semantic`` off) or no word to go by.
        """
        import numpy as np

        from supportdesk.assist import embedding

        request = request[:MAX_REQUEST]
        words = query_words(request)
        index = self._current()
        if index.vectors is None or not index.hits or not words:
            return None
        with self._lock:
            lexical = index.fts.execute(
                "SELECT rowid FROM public_fts WHERE public_fts MATCH ? ORDER BY bm25(public_fts, 4.0, 1.0, 2.0), rowid "
                "LIMIT 1",
                (" OR ".join(fts_phrase(w) for w in words),),
            ).fetchone()
        vector = embedding.embedder().embed_one(request)
        if not np.any(vector):
            return None
        similarity = index.vectors @ vector
        order = np.lexsort((np.arange(len(similarity)), -similarity))
        best = int(order[0])
        runner_up = float(similarity[order[1]]) if len(order) > 1 else 0.0
        agreed = lexical is not None and int(lexical[0]) == best + 1
        confidence = max(0.0, min(1.0, float(similarity[best]))) if agreed else 0.0
        return Answer(index.hits[best + 1], round(confidence, 4), round(runner_up, 4))
