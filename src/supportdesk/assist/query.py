"""The assist engine's answer to the query language's ``~"…"`` terms (see ``store.semantic``).

:func:`register` (called when the CLI or the console starts; importing this module loads no
model) makes every workspace connection answer ``~"money taken twice"`` with the tickets whose
meaning is closest (near the best match: :data:`RELATIVE`), up to :data:`LIMIT`. Tickets not
yet embedded are scored from their text and then stored from a connection of our own
(incremental: usually none or a few), so a term never misses a ticket that just arrived. A
workspace without a vector index, or models that cannot load, match nothing and say so on the
log, rather than failing the whole query. An agent's term is answered among the tickets they may
see (a standalone workspace holds every group's): the best match, and so the bar, is theirs.
"""

from __future__ import annotations

import logging
import sqlite3
from contextlib import closing
from typing import TYPE_CHECKING

from supportdesk.store import semantic

if TYPE_CHECKING:
    import numpy as np

    from supportdesk.store.viewer import Viewer

log = logging.getLogger(__name__)

#: The most tickets one ``~"…"`` term matches (best first; the other terms narrow them).
LIMIT = 500
#: A term matches the tickets within this fraction of its best match's similarity, and never
#: below :data:`FLOOR`. A fixed bar does not fit a static embedding: a paraphrase ("money taken
#: twice") peaks near 0.37 on the demo where a keyword ("refund") peaks near 0.8.
RELATIVE = 0.8
FLOOR = 0.25
#: Tickets not yet indexed that a term scores from their text (the newest; an index that far
#: behind is built by ``tickets similar`` / the console's worker, with a progress bar).
CATCH_UP = 5000
#: How much further an agent's term looks each time another group's tickets filled its places.
WIDEN = 4


def _main_file(connection: sqlite3.Connection) -> str | None:
    for row in connection.execute("PRAGMA database_list").fetchall():
        if row[1] == "main" and row[2]:
            return str(row[2])
    return None


def _catch_up(connection: sqlite3.Connection, missing: list[int]) -> None:
    """Store the missing vectors from a connection of our own (for the next statements)."""
    from supportdesk.assist import index

    path = _main_file(connection)
    if not missing or path is None:
        return
    try:
        with closing(sqlite3.connect(path, timeout=5, isolation_level=None)) as writer:
            index.build(writer)
    except sqlite3.Error as error:  # busy or read-only: the next term tries again
        log.info("could not store new tickets' vectors now: %s", error)


def _unindexed(connection: sqlite3.Connection, vector: np.ndarray, missing: list[int]) -> list[tuple[int, float]]:
    """Tickets not yet in the index, scored from their text against the search's ``vector`` (this
    statement's snapshot cannot see vectors stored meanwhile by another connection)."""
    from supportdesk.assist.embedding import embedder
    from supportdesk.assist.tickets import iter_texts

    if not missing:
        return []
    model = embedder()
    scored: list[tuple[int, float]] = []
    for texts in iter_texts(connection, missing[-CATCH_UP:]):
        vectors = model.embed([t.text for t in texts], cleaned=True)
        scores = vectors @ vector
        scored.extend((t.rowid, round(float(scores[i]), 4)) for i, t in enumerate(texts))
    return scored


def resolve(connection: sqlite3.Connection, text: str) -> list[int]:
    """The rowids of the tickets closest in meaning to ``text``, best first."""
    from supportdesk.assist.index import IndexUnavailable, missing_rowids
    from supportdesk.assist.models import ModelUnavailable
    from supportdesk.assist.similar import query_vector, semantic_search
    from supportdesk.store.viewer import workspace_viewer

    viewer = workspace_viewer(connection)
    try:
        missing = missing_rowids(connection)
        vector = query_vector(text)
        if vector is None:
            return []
        unindexed = [item for item in _unindexed(connection, vector, missing) if item[1] >= FLOOR]
        unindexed = _seen(connection, unindexed, viewer)
        want = LIMIT
        while True:
            matches = semantic_search(connection, text, limit=want, min_score=FLOOR, vector=vector)
            indexed = _seen(connection, [(m.rowid, m.score) for m in matches], viewer)
            # An agent's best LIMIT are theirs, not the team's: when another group's tickets took
            # places among the nearest `want`, look further until the agent's own fill LIMIT or
            # the index has nothing more above the floor.
            if viewer.sees_all or len(matches) < want or len(indexed) >= LIMIT:
                break
            want *= WIDEN
        scored = indexed + unindexed
    except (IndexUnavailable, ModelUnavailable) as error:
        log.warning("searching by meaning is not available: %s", error)
        return []
    _catch_up(connection, missing)
    if not scored:
        return []
    scored.sort(key=lambda item: (-item[1], -item[0]))
    bar = max(FLOOR, scored[0][1] * RELATIVE)
    return [rowid for rowid, score in scored[:LIMIT] if score >= bar]


def _seen(connection: sqlite3.Connection, scored: list[tuple[int, float]], viewer: Viewer) -> list[tuple[int, float]]:
    """The scored tickets the workspace's agent may see (``store.viewer``; all for an admin). The
    bar is relative to the best match, so it must be the best of *these*: another group's ticket
    saying the words exactly would otherwise raise it above every one of the agent's matches."""
    if viewer.sees_all or not scored:
        return scored
    seen, params = viewer.condition("t")
    visible: set[int] = set()
    rowids = list(dict.fromkeys(rowid for rowid, _ in scored))
    for start in range(0, len(rowids), 500):
        chunk = {f"r{n}": rowid for n, rowid in enumerate(rowids[start : start + 500])}
        marks = ", ".join(f":{name}" for name in chunk)
        found = connection.execute(
            f"SELECT t.rowid FROM ticket t WHERE t.rowid IN ({marks}) AND {seen}", {**params, **chunk}
        )
        visible.update(row[0] for row in found)
    return [item for item in scored if item[0] in visible]


def register() -> None:
    """Answer ``~"…"`` terms in this process with the assist engine."""
    semantic.set_resolver(resolve)
