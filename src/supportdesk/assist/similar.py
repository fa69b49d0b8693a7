"""Similar tickets, and search by meaning (``~"money taken twice"``).

Both ask the vector index (:mod:`.index`) for the nearest tickets. Similar tickets put the
solved ones first — their last public reply says how it was solved — and leave out the ticket
itself and tickets merged into others. Semantic search returns ticket ids with scores for the
query compiler to combine with other terms (phase 2), optionally restricted to the rowids those
terms already matched.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from supportdesk.assist import embedding, index
from supportdesk.assist.text import clean
from supportdesk.assist.tickets import ticket_texts

if TYPE_CHECKING:
    import numpy as np

    from supportdesk.store.viewer import Viewer

#: Cosine under which a ticket is not "similar" at all.
MIN_SIMILARITY = 0.35
#: Cosine under which a ticket does not match a semantic search term.
MIN_MATCH = 0.4
SOLUTION_CHARS = 400
_SOLVED = ("solved", "closed")


@dataclass(frozen=True)
class SimilarTicket:
    ticket_id: str
    number: int | None
    subject: str
    status: str
    score: float
    solution: str | None  # the last public reply of a solved ticket: how it was solved


@dataclass(frozen=True)
class SemanticMatch:
    ticket_id: str
    rowid: int
    score: float


def _ticket_vector(connection: sqlite3.Connection, ticket_id: str) -> tuple[int, object] | None:
    import numpy as np

    row = connection.execute("SELECT rowid FROM ticket WHERE id = ?", (ticket_id,)).fetchone()
    if row is None:
        return None
    rowids, vectors = index.read_vectors(connection, [row[0]])
    if len(rowids):
        return int(row[0]), vectors[0]
    text = ticket_texts(connection, [ticket_id]).get(ticket_id, "")
    vector = embedding.embedder().embed_one(text, cleaned=True) if text else np.zeros(embedding.DIMENSIONS)
    return int(row[0]), vector


def solution(connection: sqlite3.Connection, ticket_id: str) -> str | None:
    """The last public reply by an agent on a ticket (cleaned and shortened)."""
    row = connection.execute(
        "SELECT body FROM message WHERE ticket_id = ? AND public AND author_kind = 'agent' "
        "ORDER BY created_at DESC, rowid DESC LIMIT 1",
        (ticket_id,),
    ).fetchone()
    if row is None or not row[0]:
        return None
    text = clean(row[0], limit=SOLUTION_CHARS * 2)
    return text[:SOLUTION_CHARS] or None


def _candidates(
    connection: sqlite3.Connection, rowids: list[int], seen: str, params: dict[str, object]
) -> dict[int, tuple[Any, ...]]:
    """The tickets among ``rowids`` that are not merged away and that ``seen`` lets through."""
    rows: dict[int, tuple[Any, ...]] = {}
    for start in range(0, len(rowids), 500):
        chunk = {f"r{n}": rowid for n, rowid in enumerate(rowids[start : start + 500])}
        marks = ", ".join(f":{name}" for name in chunk)
        found = connection.execute(
            f"SELECT rowid, id, number, subject, status FROM ticket WHERE rowid IN ({marks}) "
            f"AND merged_into_id IS NULL AND {seen}",
            {**params, **chunk},
        )
        rows.update((row[0], tuple(row)) for row in found)
    return rows


def similar_tickets(
    connection: sqlite3.Connection, ticket_id: str, *, limit: int = 5, viewer: Viewer | None = None
) -> list[SimilarTicket]:
    """Tickets like this one: solved ones first (best match first within each), each solved one
    with its solution. With ``viewer``, ranked and cut among the tickets that agent may see: cut
    first and filtered after, another group's solved twins would crowd out the agent's own."""
    import numpy as np

    found = _ticket_vector(connection, ticket_id)
    if found is None:
        return []
    own_rowid, vector = found
    assert isinstance(vector, np.ndarray)
    seen, params = ("1 = 1", {}) if viewer is None else viewer.condition("ticket")
    pool = limit * 8  # the candidates ranked (solved first), as many for an agent as for the team
    want = pool + 1
    while True:
        neighbours = index.nearest(connection, vector, limit=want, min_score=MIN_SIMILARITY)
        rows = _candidates(connection, [n.rowid for n in neighbours if n.rowid != own_rowid], seen, params)
        # Another group's tickets took places among the nearest: look further, so the agent's
        # pool is as deep as an admin's, until the index has nothing more above the bar.
        if viewer is None or viewer.sees_all or len(neighbours) < want or len(rows) >= pool:
            break
        want *= 4
    if not rows:
        return []
    # the nearest `pool + 1` (an admin's never has more), then solved first
    scored = [(n, rows[n.rowid]) for n in neighbours if n.rowid in rows][: pool + 1]
    scored.sort(key=lambda item: (item[1][4] not in _SOLVED, -item[0].score, -item[0].rowid))
    result: list[SimilarTicket] = []
    for neighbour, row in scored[:limit]:
        solved = row[4] in _SOLVED
        result.append(
            SimilarTicket(
                row[1], row[2], row[3] or "", row[4], neighbour.score, solution(connection, row[1]) if solved else None
            )
        )
    return result


def query_vector(text: str) -> np.ndarray | None:
    """``text`` embedded as a search, or None when cleaning leaves nothing of it to embed."""
    query = clean(text, limit=1000)
    return embedding.embedder().embed_one(query, cleaned=True) if query else None


def semantic_search(
    connection: sqlite3.Connection,
    text: str,
    *,
    limit: int = 500,
    within: Sequence[int] | None = None,
    min_score: float = MIN_MATCH,
    vector: np.ndarray | None = None,
) -> list[SemanticMatch]:
    """Tickets whose meaning is close to ``text``, best first: what ``~"…"`` matches.

    ``within`` (ticket rowids) restricts the search to tickets other query terms matched; the
    compiler can also intersect the result with its own. Empty text matches nothing. ``vector``
    is the text's :func:`query_vector` when the caller has it already (a search that widens
    asks again with the same text)."""
    if vector is None:
        vector = query_vector(text)
    if vector is None:
        return []
    neighbours = index.nearest(connection, vector, limit=limit, within=within, min_score=min_score)
    if not neighbours:
        return []
    ids: dict[int, str] = {}
    rowids = [n.rowid for n in neighbours]
    for start in range(0, len(rowids), 900):
        chunk = rowids[start : start + 900]
        marks = ",".join("?" * len(chunk))
        ids.update(connection.execute(f"SELECT rowid, id FROM ticket WHERE rowid IN ({marks})", chunk).fetchall())
    return [SemanticMatch(ids[n.rowid], n.rowid, n.score) for n in neighbours if n.rowid in ids]
