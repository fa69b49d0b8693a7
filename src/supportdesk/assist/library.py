"""Knowledge-base articles and macros, ranked for a ticket by bm25 and meaning together.

bm25 finds articles that share the customer's rare words; embeddings find the ones that mean
the same in other words ("money taken twice" → "Understanding authorisation holds"). Each
ranks every candidate; the two are fused by weighted reciprocal rank (a rank-based fusion needs
no calibration between bm25's and cosine's scales, and neither list can swamp the other).

Articles use the store's FTS5 index (``kb_fts``); macros have none, so they get a small FTS5
index in memory with the same tokenizer. Both corpora and their vectors are cached per
workspace and rebuilt when an article or macro changes (a cheap ``count``/``max(updated_at)``
check).
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from supportdesk.assist import embedding
from supportdesk.assist.text import clean

if TYPE_CHECKING:
    import numpy as np

#: Weights of the two rankings in the fusion, and the usual RRF constant.
EMBEDDING_WEIGHT = 1.0
BM25_WEIGHT = 0.5
RRF_K = 10
#: Distinctive words of a ticket that go into the bm25 query.
QUERY_WORDS = 16
ARTICLE_CHARS = 1500
_TEMPLATE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)
_STOPWORDS = frozenset(
    """
    a an and are as at be but by can could do does for from had has have how i if in is it its me my
    no not of on or our please so that the their there this to was we were what when why will with
    would you your hi hello hey thanks thank regards dear best cheers just also any get got
    """.split()
)


def fts_phrase(word: str) -> str:
    """A word as a quoted FTS5 string: no input can be FTS syntax."""
    return '"' + word.replace('"', '""') + '"'


def query_words(text: str, limit: int = QUERY_WORDS) -> list[str]:
    """The ticket's distinctive words, in order, for a bm25 OR-query."""
    seen: dict[str, None] = {}
    for word in re.findall(r"[^\W_]{3,}", text.lower()):
        if word not in _STOPWORDS and not word.isdigit():
            seen[word] = None
    return list(seen)[:limit]


@dataclass(frozen=True)
class LibraryItem:
    id: str
    title: str  # an article's title, a macro's name
    rowid: int


@dataclass(frozen=True)
class Suggestion:
    id: str
    title: str
    score: float  # fused score: higher is better
    similarity: float  # cosine between the ticket and the item
    bm25_rank: int | None  # 1-based place in the bm25 ranking, None when it shares no word


@dataclass
class _Corpus:
    signature: tuple[object, ...]
    items: list[LibraryItem]
    vectors: np.ndarray
    answers: list[str]  # items with the same answer text share a key: only the first is suggested
    fts: sqlite3.Connection | None = None  # macros only: their in-memory index


_cache: dict[tuple[str, str], _Corpus] = {}
_lock = threading.Lock()


def _key(connection: sqlite3.Connection, kind: str) -> tuple[str, str]:
    row = connection.execute("PRAGMA database_list").fetchone()
    return (str(row[2] or id(connection)), kind)


def answer_key(body: str) -> str:
    """What an article or macro answers, without its own heading: an article and its
    "(admins)" copy have the same key, so suggesting both would show one answer twice."""
    lines = {re.sub(r"^\d+\.\s*", "", line.strip()) for line in body.splitlines() if not line.startswith("# ")}
    return hashlib.sha256("\n".join(sorted(lines)).encode("utf-8", "replace")).hexdigest()


def article_text(title: str, body: str) -> str:
    return f"{title}\n{title}\n{clean(body, limit=ARTICLE_CHARS)}"


def macro_text(name: str, description: str, body: str) -> str:
    return f"{name}\n{description}\n{clean(_TEMPLATE.sub(' ', body), limit=ARTICLE_CHARS)}"


def _articles(connection: sqlite3.Connection, model: embedding.Embedder) -> _Corpus:
    signature = tuple(connection.execute("SELECT count(*), max(updated_at), max(rowid) FROM kb_article").fetchone())
    key = _key(connection, "kb")
    found = _cache.get(key)
    if found is not None and found.signature == signature:
        return found
    rows = connection.execute("SELECT rowid, id, title, body FROM kb_article ORDER BY rowid").fetchall()
    items = [LibraryItem(row[1], row[2], row[0]) for row in rows]
    vectors = model.embed([article_text(row[2], row[3]) for row in rows])
    corpus = _Corpus(signature, items, vectors, [answer_key(row[3] or "") or row[1] for row in rows])
    with _lock:
        _cache[key] = corpus
    return corpus


def _macros(connection: sqlite3.Connection, model: embedding.Embedder) -> _Corpus:
    signature = tuple(
        connection.execute("SELECT count(*), max(updated_at), max(rowid) FROM macro WHERE active").fetchone()
    )
    key = _key(connection, "macro")
    found = _cache.get(key)
    if found is not None and found.signature == signature:
        return found
    rows = connection.execute(
        "SELECT rowid, id, name, description, body FROM macro WHERE active ORDER BY rowid"
    ).fetchall()
    items = [LibraryItem(row[1], row[2], row[0]) for row in rows]
    texts = [macro_text(row[2], row[3] or "", row[4] or "") for row in rows]
    vectors = model.embed(texts)
    fts = sqlite3.connect(":memory:", check_same_thread=False)
    fts.execute("CREATE VIRTUAL TABLE macro_fts USING fts5(name, body, tokenize='unicode61 remove_diacritics 2')")
    fts.executemany(
        "INSERT INTO macro_fts(rowid, name, body) VALUES (?, ?, ?)",
        ((row[0], f"{row[2]} {row[3] or ''}", _TEMPLATE.sub(" ", row[4] or "")) for row in rows),
    )
    answers = [answer_key(f"{row[3] or ''}\n{row[4] or ''}") for row in rows]
    corpus = _Corpus(signature, items, vectors, answers, fts)
    with _lock:
        _cache[key] = corpus
    return corpus


def bm25_articles(connection: sqlite3.Connection, text: str, limit: int = 50) -> list[int]:
    """Article rowids in bm25 order for the distinctive words of ``text`` (title weighs 4, tags 2)."""
    words = query_words(text)
    if not words:
        return []
    rows = connection.execute(
        "SELECT rowid FROM kb_fts WHERE kb_fts MATCH ? ORDER BY bm25(kb_fts, 4.0, 1.0, 2.0), rowid LIMIT ?",
        (" OR ".join(fts_phrase(w) for w in words), limit),
    ).fetchall()
    return [row[0] for row in rows]


def _bm25_macros(corpus: _Corpus, text: str, limit: int = 50) -> list[int]:
    words = query_words(text)
    if not words or corpus.fts is None:
        return []
    with _lock:
        rows = corpus.fts.execute(
            "SELECT rowid FROM macro_fts WHERE macro_fts MATCH ? ORDER BY bm25(macro_fts, 3.0, 1.0), rowid LIMIT ?",
            (" OR ".join(fts_phrase(w) for w in words), limit),
        ).fetchall()
    return [row[0] for row in rows]


def _fuse(corpus: _Corpus, vector: np.ndarray, bm25_rowids: list[int], limit: int) -> list[Suggestion]:
    import numpy as np

    if not corpus.items:
        return []
    similarities = corpus.vectors @ vector if np.any(vector) else np.zeros(len(corpus.items), np.float32)
    by_similarity = np.lexsort((np.arange(len(corpus.items)), -similarities))
    embedding_rank = np.empty(len(corpus.items), dtype=np.int64)
    embedding_rank[by_similarity] = np.arange(1, len(corpus.items) + 1)
    position = {item.rowid: n for n, item in enumerate(corpus.items)}
    bm25_rank: dict[int, int] = {}
    for rank, rowid in enumerate(bm25_rowids, start=1):
        if rowid in position:
            bm25_rank[position[rowid]] = rank
    scores = EMBEDDING_WEIGHT / (RRF_K + embedding_rank.astype(np.float64))
    if not np.any(vector):
        scores[:] = 0.0
    for n, rank in bm25_rank.items():
        scores[n] += BM25_WEIGHT / (RRF_K + rank)
    chosen: list[int] = []
    answered: set[str] = set()
    for n in np.lexsort((np.arange(len(corpus.items)), -scores)):
        if scores[n] <= 0 or len(chosen) >= limit:
            break
        if corpus.answers[n] in answered:
            continue
        answered.add(corpus.answers[n])
        chosen.append(int(n))
    return [
        Suggestion(
            corpus.items[n].id,
            corpus.items[n].title,
            round(float(scores[n]), 6),
            round(float(similarities[n]), 4),
            bm25_rank.get(n),
        )
        for n in chosen
    ]


def suggest_articles(connection: sqlite3.Connection, text: str, *, limit: int = 5) -> list[Suggestion]:
    """Knowledge-base articles for a ticket's model text (:func:`.tickets.compose`), best first."""
    model = embedding.embedder()
    corpus = _articles(connection, model)
    return _fuse(corpus, model.embed_one(text, cleaned=True), bm25_articles(connection, text), limit)


def suggest_macros(connection: sqlite3.Connection, text: str, *, limit: int = 5) -> list[Suggestion]:
    """Active macros for a ticket's model text, best first."""
    model = embedding.embedder()
    corpus = _macros(connection, model)
    return _fuse(corpus, model.embed_one(text, cleaned=True), _bm25_macros(corpus, text), limit)
