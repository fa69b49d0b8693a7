"""Trends: what customers write about this week, against the four weeks before.

The last week's tickets are clustered by meaning (k-means over their vectors, seeded the same
way every run, so the same workspace gives the same clusters); the four weeks before are
assigned to the nearest cluster. A cluster whose weekly count grew is a spike: "'Export times
out': 31 tickets this week, ×5". Each cluster names its tickets (ids and numbers) and a
semantic search term, so it opens as a view. Its label is the most common subject among its
tickets — words customers wrote, not a made-up title. "Now" is the process clock
(``store.times.utcnow``).
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from supportdesk.assist import embedding, index
from supportdesk.assist.text import clean
from supportdesk.assist.tickets import ERASED, ticket_texts
from supportdesk.store.times import to_db, utcnow

if TYPE_CHECKING:
    import numpy as np

    from supportdesk.store.viewer import Viewer

RECENT = timedelta(days=7)
BEFORE = timedelta(days=28)
#: The most tickets of each period read (the newest); enough for stable counts, bounded work.
MAX_TICKETS = 20000
ITERATIONS = 12


@dataclass(frozen=True)
class Trend:
    label: str
    recent: int  # tickets in the last 7 days
    before: int  # tickets in the 28 days before
    ratio: float  # this week's count against the weekly average before
    ticket_ids: list[str]  # this week's tickets, newest first
    numbers: list[int]
    term: str  # a semantic query term for the cluster: ~"label"

    @property
    def spike(self) -> bool:
        return self.ratio >= 2.0 and self.recent >= 5

    def headline(self) -> str:
        kind = "spike" if self.spike else "steady" if self.ratio >= 0.5 else "falling"
        return f"{kind}: '{self.label}', {self.recent} tickets, ×{self.ratio:.1f}"


def _window(
    connection: sqlite3.Connection, start: datetime, end: datetime, viewer: Viewer | None
) -> list[tuple[int, str, int | None, str]]:
    seen, params = ("1 = 1", {}) if viewer is None else viewer.condition("ticket")
    return connection.execute(
        "SELECT rowid, id, number, subject FROM ticket WHERE created_at >= :start AND created_at < :end "
        f"AND merged_into_id IS NULL AND {seen} ORDER BY created_at DESC LIMIT :most",
        {**params, "start": to_db(start), "end": to_db(end), "most": MAX_TICKETS},
    ).fetchall()


def _vectors(connection: sqlite3.Connection, rows: list[tuple[int, str, int | None, str]]) -> np.ndarray:
    import numpy as np

    out = np.zeros((len(rows), embedding.DIMENSIONS), dtype=np.float32)
    position = {row[0]: n for n, row in enumerate(rows)}
    found_ids, vectors = index.read_vectors(connection, list(position))
    for rowid, vector in zip(found_ids.tolist(), vectors, strict=True):
        out[position[rowid]] = vector
    missing = [row for row in rows if row[0] not in set(found_ids.tolist())]
    if missing:
        texts = ticket_texts(connection, [row[1] for row in missing])
        embedded = embedding.embedder().embed([texts.get(row[1], "") for row in missing], cleaned=True)
        for row, vector in zip(missing, embedded, strict=True):
            out[position[row[0]]] = vector
    return out


def _kmeans(vectors: np.ndarray, k: int) -> np.ndarray:
    """Spherical k-means with k-means++ seeding from a fixed seed: the same input, the same
    centroids."""
    import numpy as np

    generator = np.random.default_rng(0)
    centroids = [vectors[0]]
    for _ in range(1, k):
        similarity = np.max(vectors @ np.asarray(centroids).T, axis=1)
        weights = np.clip(1.0 - similarity, 0, None) ** 2
        total = float(weights.sum())
        if total <= 0:
            break
        centroids.append(vectors[int(generator.choice(len(vectors), p=weights / total))])
    matrix = np.asarray(centroids, dtype=np.float32)
    for _ in range(ITERATIONS):
        labels = np.argmax(vectors @ matrix.T, axis=1)
        for c in range(len(matrix)):
            members = vectors[labels == c]
            if len(members):
                mean = members.sum(axis=0)
                norm = float(np.linalg.norm(mean))
                if norm:
                    matrix[c] = mean / norm
    return matrix


def trends(
    connection: sqlite3.Connection, *, now: datetime | None = None, limit: int = 10, viewer: Viewer | None = None
) -> list[Trend]:
    """Clusters of the last 7 days' tickets, biggest growth first (see the module docstring).
    With ``viewer`` both periods hold only the tickets that agent may see: a standalone
    workspace holds every group's, and a cluster's label, numbers *and* counts (the 4 weeks
    before, the ratio) must not come from another group's tickets."""
    import numpy as np

    now = now or utcnow()
    recent_rows = _window(connection, now - RECENT, now, viewer)
    recent_rows = [r for r in recent_rows if r[3] != ERASED]
    if not recent_rows:
        return []
    before_rows = _window(connection, now - RECENT - BEFORE, now - RECENT, viewer)
    recent = _vectors(connection, recent_rows)
    keep = np.linalg.norm(recent, axis=1) > 0
    recent_rows = [r for r, k in zip(recent_rows, keep, strict=True) if k]
    recent = recent[keep]
    if not len(recent):
        return []
    k = int(max(2, min(40, round((len(recent) / 4) ** 0.5))))
    centroids = _kmeans(recent, min(k, len(recent)))
    labels = np.argmax(recent @ centroids.T, axis=1)
    before_counts = np.zeros(len(centroids), dtype=np.int64)
    if before_rows:
        before = _vectors(connection, before_rows)
        present = np.linalg.norm(before, axis=1) > 0
        if present.any():
            before_counts = np.bincount(np.argmax(before[present] @ centroids.T, axis=1), minlength=len(centroids))
    scale = RECENT / BEFORE
    found: list[Trend] = []
    for c in range(len(centroids)):
        members = [recent_rows[n] for n in np.flatnonzero(labels == c)]
        if not members:
            continue
        subjects = Counter(clean(m[3], limit=120) for m in members if m[3])
        label = min(subjects.items(), key=lambda item: (-item[1], item[0]))[0] if subjects else "(no subject)"
        ratio = (len(members) + 1) / (float(before_counts[c]) * scale + 1)
        found.append(
            Trend(
                label,
                len(members),
                int(before_counts[c]),
                round(ratio, 2),
                [m[1] for m in members],
                [m[2] for m in members if m[2] is not None],
                '~"' + label.replace('"', "'") + '"',
            )
        )
    found.sort(key=lambda t: (-t.ratio, -t.recent, t.label))
    return found[:limit]
