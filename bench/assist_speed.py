"""Speed of the assist engine on a workspace: ``python bench/assist_speed.py -w PATH``.

Measures, in this order: model load times (a fresh process), embedding every ticket that has no
vector yet (the whole workspace on the first run, with a progress line) and an incremental run
after it, loading the index's bit codes, triage per ticket, suggestions for a ticket (articles,
macros, similar tickets), semantic search, and the recall of the bit-code candidates against an
exact scan on a sample. Peak RSS at the end.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from contextlib import closing
from pathlib import Path

from _timing import cpu_summary, measure_both, percentile, summary
from supportdesk.assist import embedding, index, similar, suggest, triage, warm_up
from supportdesk.assist.tickets import ticket_texts
from supportdesk.store.workspace import Workspace


def progress_line(done: int, total: int) -> None:
    if total:
        sys.stderr.write(f"\r  embedded {done:,}/{total:,} ({100 * done / total:5.1f} %)")
        sys.stderr.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-w", "--workspace", type=Path, required=True)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--rebuild", action="store_true", help="embed every ticket again")
    args = parser.parse_args()
    workspace = Workspace.open(args.workspace, create=False)

    started = time.perf_counter()
    loaded = warm_up()
    each = ", ".join(f"{k} {v:.2f} s" for k, v in loaded.items())
    print(f"model load: {each}; all {time.perf_counter() - started:.2f} s")

    with closing(workspace.connect()) as connection:
        tickets = connection.execute("SELECT count(*) FROM ticket").fetchone()[0]
        print(f"workspace: {tickets:,} tickets")
        cpu_started = time.process_time()
        result = index.build(connection, progress=progress_line, rebuild=args.rebuild)
        cpu = time.process_time() - cpu_started
        sys.stderr.write("\n")
        rate = result.embedded / result.seconds if result.seconds else 0
        cpu_rate = result.embedded / cpu if cpu else 0
        print(
            f"index build: {result.embedded:,} tickets in {result.seconds:.1f} s ({rate:,.0f}/s); "
            f"cpu {cpu:.1f} s ({cpu_rate:,.0f}/s: a million in {1e6 / cpu_rate / 60 if cpu_rate else 0:.1f} min "
            "on a free core)"
        )
        again = index.build(connection)
        print(f"incremental build with nothing new: {again.embedded} tickets in {again.seconds:.2f} s")

        index._cache.clear()
        loaded_index = index.loaded(connection)
        print(f"index load (bit codes of {len(loaded_index):,} tickets): {loaded_index.seconds:.2f} s")

        sample = [
            row[0]
            for row in connection.execute(
                "SELECT id FROM ticket WHERE merged_into_id IS NULL AND rowid % ? = 0 LIMIT ?",
                (max(1, tickets // args.repeat), args.repeat),
            )
        ]
        texts = ticket_texts(connection, sample)
        triager = triage.triager(connection)
        text_list = [texts[t] for t in sample]
        position = iter(range(10**9))
        samples, cpu = measure_both(
            lambda: triager.triage_text(text_list[next(position) % len(text_list)]), repeat=len(sample)
        )
        print(f"triage per ticket:        {summary(samples)}   {cpu_summary(cpu)}")
        position = iter(range(10**9))
        samples, cpu = measure_both(
            lambda: suggest.suggestions(connection, sample[next(position) % len(sample)]), repeat=len(sample)
        )
        print(f"suggestions per ticket:   {summary(samples)}   {cpu_summary(cpu)}")
        for name, call in (
            ("  articles", lambda t: suggest.articles_for(connection, t)),
            ("  macros", lambda t: suggest.macros_for(connection, t)),
            ("  similar tickets", lambda t: similar.similar_tickets(connection, t)),
        ):
            counter = iter(range(10**9))
            samples, cpu = measure_both(
                lambda c=call, n=counter: c(sample[next(n) % len(sample)]),  # type: ignore[misc]
                repeat=len(sample),
            )
            print(f"{name:25} {summary(samples)}   {cpu_summary(cpu)}")
        queries = ["money taken twice", "cannot log in after new phone", "export empty file", "app crashes"]
        position = iter(range(10**9))
        samples, cpu = measure_both(
            lambda: similar.semantic_search(connection, queries[next(position) % len(queries)], limit=200), repeat=40
        )
        print(f"semantic search (200):    {summary(samples)}   {cpu_summary(cpu)}")

        # recall of the bit-code candidates against an exact scan of every vector
        import numpy as np

        model = embedding.embedder()
        hits = total = 0
        exact_ms: list[float] = []
        for ticket_id in sample[:20]:
            vector = model.embed_one(texts[ticket_id], cleaned=True)
            approx = {n.rowid for n in index.nearest(connection, vector, limit=10)}
            started = time.perf_counter()
            best: list[tuple[float, int]] = []
            for offset in range(0, len(loaded_index), 200_000):
                rowids, vectors = index.read_vectors(
                    connection, loaded_index.rowids[offset : offset + 200_000].tolist()
                )
                scores = vectors @ vector
                top = np.argsort(-scores)[:10]
                best += [(float(scores[i]), int(rowids[i])) for i in top]
            exact_ms.append((time.perf_counter() - started) * 1000)
            best.sort(reverse=True)
            cut = best[9][0]
            approx_scores = [n.score for n in index.nearest(connection, vector, limit=10)]
            hits += sum(1 for s in approx_scores if s >= cut - 1e-4)
            total += 10
            _ = approx
        print(
            f"bit-code candidates ({index.CANDIDATES}): recall@10 {100 * hits / total:.1f} % "
            f"(exact scan from SQLite: p50 {percentile(exact_ms, 0.5):.0f} ms)"
        )
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {rss:.0f} MB")


if __name__ == "__main__":
    main()
