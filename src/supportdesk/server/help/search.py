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

from supportdesk.assist.library import BM25_WEIGHT, EMBEDDING_WEIGHT, RRF_K, article_text, fts_phrase

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


@dataclass
class _Index:
    signature: tuple[Any, ...]
    fts: sqlite3.Connection
    hits: dict[int, Hit]
    vectors: np.ndarray | None


def _snippet(body: str, limit: int = 180) -> str:
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
