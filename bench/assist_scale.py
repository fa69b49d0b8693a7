"""The vector index at a million tickets, when no million-ticket workspace is at hand:
``python bench/assist_scale.py -w SMALL_WORKSPACE --vectors 1000000``.

Copies an indexed workspace aside and pads its index with generated vectors (each a real
ticket's vector with noise, so they cluster like tickets do) under rowids no ticket has, until
it holds ``--vectors``. Then measures what depends on the index's size: loading the bit codes,
similar tickets (the candidates are scanned over every vector; padded ones are read and ranked,
then dropped for having no ticket), semantic search, the side panel's suggestions, and the
recall of the bit-code candidates against an exact scan. Text, articles and macros stay those
of the small workspace. ``assist_speed.py`` measures a real large workspace.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sqlite3
import tempfile
import time
from contextlib import closing
from pathlib import Path

import numpy as np

from _timing import cpu_summary, measure_both, percentile, summary
from supportdesk.assist import embedding, index, similar, suggest
from supportdesk.assist.tickets import ticket_texts
from supportdesk.store.workspace import DB_NAME, Workspace


def pad(connection: sqlite3.Connection, target: int) -> None:
    rows = connection.execute("SELECT ticket_rowid, vector FROM assist_vector").fetchall()
    base = index.dequantize([r[1] for r in rows])
    have = len(rows)
    start = int(connection.execute("SELECT max(rowid) FROM ticket").fetchone()[0]) + 1_000_000
    generator = np.random.default_rng(1)
    connection.execute("BEGIN IMMEDIATE")
    for offset in range(0, target - have, 50_000):
        count = min(50_000, target - have - offset)
        picked = base[generator.integers(0, len(base), count)]
        noisy = picked + generator.normal(0, 0.04, picked.shape).astype(np.float32)
        noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
        q, bits = index.quantize(noisy)
        ids = range(start + offset, start + offset + count)
        connection.executemany(
            "INSERT INTO assist_vector VALUES (?, ?)", ((i, q[n].tobytes()) for n, i in enumerate(ids))
        )
        connection.executemany(
            "INSERT INTO assist_code VALUES (?, ?)", ((i, bits[n].tobytes()) for n, i in enumerate(ids))
        )
    connection.execute("UPDATE assist_meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'")
    connection.execute("COMMIT")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-w", "--workspace", type=Path, required=True)
    parser.add_argument("--vectors", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=100)
    parser.add_argument(
        "--recall", type=int, default=20, help="tickets whose neighbours are checked by an exact scan (0: skip)"
    )
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="assist-scale-"))
    try:
        with (
            closing(sqlite3.connect(args.workspace / DB_NAME)) as source,
            closing(sqlite3.connect(folder / DB_NAME)) as target,
        ):
            source.backup(target)
        workspace = Workspace.open(folder)
        with closing(workspace.connect()) as connection:
            index.build(connection)
            started = time.perf_counter()
            pad(connection, args.vectors)
            print(f"padded the index to {args.vectors:,} vectors in {time.perf_counter() - started:.0f} s")
            size = (folder / DB_NAME).stat().st_size + (folder / f"{DB_NAME}-wal").stat().st_size
            print(f"workspace file with the index: {size / 1e6:,.0f} MB")
            index._cache.clear()
            cpu_started = time.process_time()
            loaded = index.loaded(connection)
            print(
                f"index load (bit codes of {len(loaded):,} tickets): {loaded.seconds:.2f} s "
                f"(cpu {time.process_time() - cpu_started:.2f} s)"
            )
            tickets = connection.execute("SELECT count(*) FROM ticket").fetchone()[0]
            sample = [
                r[0]
                for r in connection.execute(
                    "SELECT id FROM ticket WHERE merged_into_id IS NULL AND rowid % ? = 0 LIMIT ?",
                    (max(1, tickets // args.repeat), args.repeat),
                )
            ]
            for name, call in (
                ("suggestions per ticket", lambda t: suggest.suggestions(connection, t)),
                ("  similar tickets", lambda t: similar.similar_tickets(connection, t)),
                ("  articles", lambda t: suggest.articles_for(connection, t)),
                ("  macros", lambda t: suggest.macros_for(connection, t)),
            ):
                counter = iter(range(10**9))
                samples, cpu = measure_both(
                    lambda c=call, n=counter: c(sample[next(n) % len(sample)]),  # type: ignore[misc]
                    repeat=len(sample),
                )
                print(f"{name:25} {summary(samples)}   {cpu_summary(cpu)}")
            queries = ["money taken twice", "cannot log in after new phone", "export empty file", "app crashes"]
            counter = iter(range(10**9))
            samples, cpu = measure_both(
                lambda: similar.semantic_search(connection, queries[next(counter) % len(queries)], limit=200),
                repeat=40,
            )
            print(f"semantic search (200):    {summary(samples)}   {cpu_summary(cpu)}")
            model = embedding.embedder()
            texts = ticket_texts(connection, sample[: args.recall])
            all_rowids = loaded.rowids.tolist()
            hits = total = 0
            exact_ms: list[float] = []
            for ticket_id in sample[: args.recall]:
                vector = model.embed_one(texts[ticket_id], cleaned=True)
                started = time.perf_counter()
                best: list[float] = []
                for offset in range(0, len(all_rowids), 200_000):
                    _ids, vectors = index.read_vectors(connection, all_rowids[offset : offset + 200_000])
                    best += sorted((vectors @ vector).tolist(), reverse=True)[:10]
                exact_ms.append((time.perf_counter() - started) * 1000)
                cut = sorted(best, reverse=True)[9]
                found = index.nearest(connection, vector, limit=10)
                hits += sum(1 for n in found if n.score >= cut - 1e-4)
                total += 10
            if total:
                print(
                    f"bit-code candidates ({index.CANDIDATES}): recall@10 {100 * hits / total:.1f} % against an "
                    f"exact scan (which takes p50 {percentile(exact_ms, 0.5):,.0f} ms)"
                )
        workspace.close()
        print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
