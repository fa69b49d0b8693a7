"""Free-text search latency on a workspace: ``python bench/search.py -w PATH``.

A fixed mix of rare words (five customers' addresses, a handful of tickets each), topic words
(one support topic in twenty), common words, two-word queries and phrases, each run with the
default ranking (newest first, walking the index in row order) and with bm25 relevance. The
average number of matching tickets of each kind is printed next to its timings.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from _timing import measure, percentile, summary
from supportdesk.store import reads
from supportdesk.store.workspace import Workspace

MIX = {
    "topic word": ["okta", "gantt", "vat", "suppression", "failover"],
    "common word": ["refund", "invoice", "login", "thanks", "account"],
    "two words": ["refund card", "webhook timeout", "password reset", "slack token", "export csv"],
    "phrase": ['"card declined"', '"rate limit"', '"two-factor authentication"', '"daily digest"', '"status page"'],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-w", "--workspace", type=Path, required=True)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    workspace = Workspace.open(args.workspace, create=False)
    with workspace.reading() as connection:
        rare = [
            f'"{row[0]}"'
            for row in connection.execute(
                "SELECT value FROM identity WHERE kind = 'email' ORDER BY id LIMIT 5 OFFSET 1000"
            )
        ]
        mix = {"rare word": rare, **MIX}
        for kind, queries in mix.items():
            counts = [reads.queue_count(connection, reads.plan_queue(q)) for q in queries]
            print(f"{kind:12} matches {sum(counts) / len(counts):>10,.0f} tickets on average")
        for ranking in ("newest", "relevance"):
            print(f"ranking: {ranking} (first page of 50)")
            everything: list[float] = []
            for kind, queries in mix.items():
                samples: list[float] = []
                for query in queries:
                    plan = reads.plan_queue(query, sort=ranking)
                    samples += measure(
                        lambda p=plan: reads.queue_page(connection, p, limit=50), repeat=args.repeat, warmup=1
                    )
                everything += samples
                print(f"  {kind:12} {summary(samples)}")
            print(f"  {'all':12} p50 {percentile(everything, 0.5):.2f} ms   p95 {percentile(everything, 0.95):.2f} ms")


if __name__ == "__main__":
    main()
