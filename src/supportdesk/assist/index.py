"""The vector index: one embedding per ticket in the workspace, searched in memory.

**Storage** (migration ``0009_assist_vectors``): each ticket's unit vector as 256 signed bytes
in ``assist_vector`` and its 256 sign bits in ``assist_code``, keyed by the ticket's rowid.
Derived, local data like the FTS index: never synced, rebuilt by :func:`build` at any time.
Triggers drop a ticket's rows when its text changes or it leaves, so an incremental
:func:`build` embeds exactly the tickets without a vector, and erased text never lingers.

**Search** is three steps. The sign bits of every ticket (32 bytes each: 32 MB for a million)
are held in memory, grouped in buckets by their first 16 bits; the buckets nearest the query's
give about 20,000 tickets, whose Hamming distance to the query's 256 bits picks a few hundred
candidates; their exact vectors are then read from SQLite by rowid and ranked by cosine. Why not a float
matrix in memory: a million × 256 float32 is 1 GB of RSS and a 280 ms scan here; int8 needs a
conversion numpy does slowly. Why not sqlite-vec: its extension cannot load in Pythons built
without ``enable_load_extension`` (this machine's, and others'), and its brute-force scan reads
every vector anyway. The figures are in ``bench/README.md``.

The in-memory part is loaded once per process and workspace (:func:`loaded`), in a worker when
the console asks, and refreshed when ``assist_meta.generation`` says another process changed
the index.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from supportdesk.assist import embedding
from supportdesk.assist.tickets import iter_texts

if TYPE_CHECKING:
    import numpy as np

Progress = Callable[[int, int], None]
#: Candidates the bit codes pass to the exact ranking.
CANDIDATES = 400
#: Tickets whose 256 bits are compared, from the buckets nearest the query (all of them below).
SCAN = 20000
_SCALE = 127.0


class IndexUnavailable(Exception):
    """The workspace has no vector tables (an old schema or a server database)."""


@dataclass(frozen=True)
class BuildResult:
    embedded: int
    total: int
    seconds: float
    rebuilt: bool


def _meta(connection: sqlite3.Connection, key: str) -> str | None:
    try:
        row = connection.execute("SELECT value FROM assist_meta WHERE key = ?", (key,)).fetchone()
    except sqlite3.OperationalError as error:
        raise IndexUnavailable(f"this workspace has no vector index ({error})") from None
    return None if row is None else str(row[0])


def _set_meta(connection: sqlite3.Connection, key: str, value: str) -> None:
    connection.execute(
        "INSERT INTO assist_meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


def _bump(connection: sqlite3.Connection) -> None:
    connection.execute(
        "INSERT INTO assist_meta(key, value) VALUES ('generation', '1') "
        "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1"
    )


def generation(connection: sqlite3.Connection) -> int:
    """A number that changes whenever any process changes the index."""
    return int(_meta(connection, "generation") or 0)


def quantize(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit float vectors → (int8 vectors ×127, packed sign bits)."""
    import numpy as np

    q = np.clip(np.rint(vectors * _SCALE), -127, 127).astype(np.int8)
    bits = np.packbits(vectors > 0, axis=1)
    return q, bits


def dequantize(blobs: Sequence[bytes]) -> np.ndarray:
    """Stored int8 vectors → unit float32 rows (zero rows stay zero)."""
    import numpy as np

    matrix = np.frombuffer(b"".join(blobs), dtype=np.int8).reshape(len(blobs), embedding.DIMENSIONS)
    floats = matrix.astype(np.float32)
    norms = np.linalg.norm(floats, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    unit: np.ndarray = floats / norms
    return unit


def missing_rowids(connection: sqlite3.Connection) -> list[int]:
    """Tickets without a vector, oldest first."""
    return [
        row[0]
        for row in connection.execute(
            "SELECT t.rowid FROM ticket t WHERE NOT EXISTS "
            "(SELECT 1 FROM assist_code c WHERE c.ticket_rowid = t.rowid) ORDER BY t.rowid"
        )
    ]


def build(
    connection: sqlite3.Connection,
    *,
    progress: Progress | None = None,
    rebuild: bool = False,
    batch: int = 4000,
    embedder: embedding.Embedder | None = None,
) -> BuildResult:
    """Embed every ticket that has no vector (all of them on the first run, after a change of
    embedding version, or with ``rebuild``). Commits every ``batch`` tickets, so a console or a
    sync writing at the same time waits at most one batch; safe to interrupt and run again.
    ``progress(done, total)`` is called after each batch."""
    started = time.perf_counter()
    model = embedder or embedding.embedder()
    version = _meta(connection, "model")
    rebuilt = rebuild or version != embedding.VERSION
    if rebuilt:
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("DELETE FROM assist_vector")
        connection.execute("DELETE FROM assist_code")
        _set_meta(connection, "model", embedding.VERSION)
        _bump(connection)
        connection.execute("COMMIT")
    todo = missing_rowids(connection)
    total, done = len(todo), 0
    if progress:
        progress(0, total)
    for texts in iter_texts(connection, todo, batch=batch):
        vectors = model.embed([t.text for t in texts], cleaned=True)
        q, bits = quantize(vectors)
        connection.execute("BEGIN IMMEDIATE")
        try:
            connection.executemany(
                "INSERT OR REPLACE INTO assist_vector(ticket_rowid, vector) VALUES (?, ?)",
                ((t.rowid, q[i].tobytes()) for i, t in enumerate(texts)),
            )
            connection.executemany(
                "INSERT OR REPLACE INTO assist_code(ticket_rowid, code) VALUES (?, ?)",
                ((t.rowid, bits[i].tobytes()) for i, t in enumerate(texts)),
            )
            _bump(connection)
            connection.execute("COMMIT")
        finally:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
        done += len(texts)
        if progress:
            progress(done, total)
    return BuildResult(done, total, time.perf_counter() - started, rebuilt)


def forget_tickets(connection: sqlite3.Connection, ticket_ids: Iterable[str]) -> int:
    """Delete these tickets' vectors now, overwriting the freed pages (the erasure path calls
    this; the triggers already do it when erased text is written on this workspace). Runs in
    the caller's transaction if one is open. Returns how many tickets had a vector."""
    ids = list(ticket_ids)
    own = not connection.in_transaction
    secure = int(connection.execute("PRAGMA secure_delete").fetchone()[0])
    connection.execute("PRAGMA secure_delete=ON")
    removed = 0
    try:
        if own:
            connection.execute("BEGIN IMMEDIATE")
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rowids = [r[0] for r in connection.execute(f"SELECT rowid FROM ticket WHERE id IN ({marks})", chunk)]
            if not rowids:
                continue
            rmarks = ",".join("?" * len(rowids))
            removed += connection.execute(f"DELETE FROM assist_code WHERE ticket_rowid IN ({rmarks})", rowids).rowcount
            connection.execute(f"DELETE FROM assist_vector WHERE ticket_rowid IN ({rmarks})", rowids)
        _bump(connection)
        if own:
            connection.execute("COMMIT")
    finally:
        if own and connection.in_transaction:
            connection.execute("ROLLBACK")
        connection.execute(f"PRAGMA secure_delete={secure}")
    _drop_cached(connection)
    return removed


def forget_customer(connection: sqlite3.Connection, customer_id: str) -> int:
    """Delete the vectors of every ticket this customer requested (see :func:`forget_tickets`)."""
    ids = [r[0] for r in connection.execute("SELECT id FROM ticket WHERE requester_id = ?", (customer_id,))]
    return forget_tickets(connection, ids)


# --- the in-memory part ---------------------------------------------------------------------


@dataclass
class LoadedIndex:
    """Every ticket's sign bits, grouped into buckets by their first 16 bits.

    The first dimensions of WordLlama's vectors carry the most meaning (it is trained so that a
    prefix of the vector is a smaller embedding), so tickets that agree on those 16 signs are
    near. A search reads the buckets nearest to the query's 16 bits until it has
    :data:`SCAN` tickets, and compares all 256 bits only for those: 2 % of a million instead of
    all of them."""

    rowids: np.ndarray  # (n,) int64, in bucket order
    codes: np.ndarray  # (n, 4) uint64, in bucket order
    bucket_keys: np.ndarray  # (buckets,) uint16, the occupied keys
    bucket_starts: np.ndarray  # (buckets,) int64
    bucket_sizes: np.ndarray  # (buckets,) int64
    generation: int
    seconds: float

    def __len__(self) -> int:
        return len(self.rowids)

    def scan_positions(self, query_bits: np.ndarray, at_least: int) -> np.ndarray:
        """Positions of the tickets in the buckets nearest the query, at least ``at_least``."""
        import numpy as np

        if len(self.rowids) <= at_least:
            return np.arange(len(self.rowids))
        key = np.uint16(int(query_bits[0]) & 0xFFFF)
        distance = np.bitwise_count(self.bucket_keys ^ key)
        sizes_by_distance = np.bincount(distance, weights=self.bucket_sizes, minlength=17)
        reach = int(np.searchsorted(np.cumsum(sizes_by_distance), at_least))
        chosen = np.flatnonzero(distance <= reach)
        starts, sizes = self.bucket_starts[chosen], self.bucket_sizes[chosen]
        # the ranges [start, start + size) of the chosen buckets, as one index array
        offsets = np.repeat(starts - np.concatenate(([0], np.cumsum(sizes)[:-1])), sizes)
        positions: np.ndarray = np.arange(int(sizes.sum()), dtype=np.int64) + offsets
        return positions


_cache: dict[str, LoadedIndex] = {}
_cache_lock = threading.Lock()


def _database_key(connection: sqlite3.Connection) -> str:
    row = connection.execute("PRAGMA database_list").fetchone()
    return str(row[2] or f"memory:{id(connection)}")


def _drop_cached(connection: sqlite3.Connection) -> None:
    with _cache_lock:
        _cache.pop(_database_key(connection), None)


def loaded(connection: sqlite3.Connection) -> LoadedIndex:
    """The in-memory codes of this workspace, loaded on first use and again whenever another
    process changed the index (about a second for a million tickets)."""
    import numpy as np

    key = _database_key(connection)
    current = generation(connection)
    found = _cache.get(key)
    if found is not None and found.generation == current:
        return found
    with _cache_lock:
        found = _cache.get(key)
        if found is not None and found.generation == current:
            return found
        started = time.perf_counter()
        rows = connection.execute("SELECT ticket_rowid, code FROM assist_code ORDER BY ticket_rowid").fetchall()
        rowids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        blob = b"".join(r[1] for r in rows)
        codes = np.frombuffer(blob, dtype=np.uint64).reshape(len(rows), 4) if rows else np.zeros((0, 4), np.uint64)
        keys = (codes[:, 0] & np.uint64(0xFFFF)).astype(np.uint16)
        order = np.argsort(keys, kind="stable")
        keys, rowids, codes = keys[order], rowids[order], np.ascontiguousarray(codes[order])
        bucket_keys, bucket_starts, bucket_sizes = np.unique(keys, return_index=True, return_counts=True)
        found = LoadedIndex(
            rowids,
            codes,
            bucket_keys.astype(np.uint16),
            bucket_starts.astype(np.int64),
            bucket_sizes.astype(np.int64),
            current,
            time.perf_counter() - started,
        )
        _cache[key] = found
        return found


def _hamming(codes: np.ndarray, query: np.ndarray) -> np.ndarray:
    import numpy as np

    counts = np.bitwise_count(codes ^ query)
    total: np.ndarray = (counts[:, 0] + counts[:, 1] + counts[:, 2] + counts[:, 3]).astype(np.uint16)
    return total


def _closest(distances: np.ndarray, want: int) -> np.ndarray:
    """Positions of the ``want`` smallest distances (ties at the cut broken by position), found
    with a histogram instead of a partial sort: one pass, whatever the size."""
    import numpy as np

    if len(distances) <= want:
        return np.arange(len(distances))
    histogram = np.bincount(distances, minlength=257)
    cut = int(np.searchsorted(np.cumsum(histogram), want))
    inside = np.flatnonzero(distances < cut)
    at_cut = np.flatnonzero(distances == cut)
    return np.concatenate((inside, at_cut[-(want - len(inside)) :] if want > len(inside) else at_cut[:0]))


def read_vectors(connection: sqlite3.Connection, rowids: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Exact vectors of these tickets (those that have one), as (rowids, unit rows)."""
    import numpy as np

    found_ids: list[int] = []
    blobs: list[bytes] = []
    ordered = sorted(int(r) for r in rowids)
    for start in range(0, len(ordered), 30000):
        chunk = ordered[start : start + 30000]
        marks = ",".join("?" * len(chunk))
        for rowid, blob in connection.execute(
            f"SELECT ticket_rowid, vector FROM assist_vector WHERE ticket_rowid IN ({marks})", chunk
        ):
            found_ids.append(rowid)
            blobs.append(blob)
    if not blobs:
        return np.zeros(0, np.int64), np.zeros((0, embedding.DIMENSIONS), np.float32)
    return np.asarray(found_ids, dtype=np.int64), dequantize(blobs)


@dataclass(frozen=True)
class Neighbour:
    rowid: int
    score: float  # cosine similarity, −1 … 1


def nearest(
    connection: sqlite3.Connection,
    vector: np.ndarray,
    *,
    limit: int = 10,
    candidates: int = CANDIDATES,
    within: Sequence[int] | None = None,
    min_score: float = -1.0,
) -> list[Neighbour]:
    """The tickets whose vectors are closest to a unit ``vector``, best first.

    ``within`` restricts the search to these ticket rowids (other query terms' matches): up to a
    few tens of thousands are ranked exactly, straight from SQLite."""
    import numpy as np

    if not np.any(vector):
        return []
    if within is not None:
        rowids, vectors = read_vectors(connection, within)
    else:
        index = loaded(connection)
        if not len(index):
            return []
        query_bits = np.packbits(vector > 0).view(np.uint64)
        scan = index.scan_positions(query_bits, SCAN)
        picked = scan[_closest(_hamming(index.codes[scan], query_bits), max(candidates, limit))]
        rowids, vectors = read_vectors(connection, index.rowids[picked].tolist())
    if not len(rowids):
        return []
    scores = vectors @ vector.astype(np.float32)
    order = np.lexsort((-rowids, -scores))  # best score first, then the newest ticket
    out: list[Neighbour] = []
    for position in order:
        if scores[position] < min_score:
            break
        out.append(Neighbour(int(rowids[position]), round(float(scores[position]), 4)))
        if len(out) >= limit:
            break
    return out
