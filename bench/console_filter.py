"""Applying a filter: enter in the filter bar to the frame showing the first matching row.

    .venv/bin/python bench/console_filter.py --workspace /work/bench-data/1m --repeat 3

Structured filters (indexed fields) and free-text searches (FTS5, newest first) are timed
separately, p50 / p95 / max, on the "All open" view (`--view` names another); the expected first row of each is read
from the store first, and the clock stops at the end of the frame that draws it. A relevance
search of a common word (bm25 must score every match) is timed too: it runs in a worker that a
new filter interrupts, so the console keeps answering meanwhile.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from console_pty import Console, first_row_marker, percentile
from supportdesk.store import reads
from supportdesk.store.query import parse
from supportdesk.store.workspace import Workspace, read_setting

STRUCTURED = [
    "status:pending",
    "priority>=high",
    "tag:refund",
    "group:billing",
    "channel:phone status:open",
    "assignee:none",
    "created>30d",
    'priority:urgent group:"tier 1"',
    "-tag:spam status:new",
    "channel:social,chat",
]
TEXT = ["refund", "password", "invoice declined", "sso", "crash*", "dark mode", "export", '"two identical"']


def expected_marker(connection: object, me: str | None, view: reads.ViewRow, text: str) -> str:
    """What the console draws first for ``text`` on the view (the queue screen's sort rule)."""
    parsed = parse(text)
    sort = None if parsed.sort or parsed.has_text else view.sort
    plan = reads.plan_queue(f"{view.query} {text}", me=me, sort=sort)
    page = reads.queue_page(connection, plan, limit=1)  # type: ignore[arg-type]
    if not page.rows:
        return "no tickets match"
    return first_row_marker(page.rows[0].number, page.rows[0].subject)


def run(console: Console, queries: list[str], markers: dict[str, str], repeat: int) -> list[tuple[str, float]]:
    times: list[tuple[str, float]] = []
    previous = ""
    # one untimed round first: the page cache is warm for every figure (a cold 10 GB file is a
    # measure of the disk), and each query has been planned once
    for query in queries:
        console.open_filter(query, previous=previous)
        console.drain(0.2)
        console.send("enter")
        console.drain(0.5, most=30)
        previous = query
    for _ in range(repeat):
        for query in queries:
            console.open_filter(query, previous=previous)
            console.drain(0.2)
            sent = console.send("enter")
            at = console.wait_for(markers[query], timeout=30)
            times.append((query, at - sent))
            previous = query
            console.drain(0.3)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workspace", type=Path, default=Path("/work/bench-data/1m"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--view", default="All open", help="the saved view the filters are applied on")
    args = parser.parse_args()
    with Workspace(args.workspace).reading() as connection:
        me = read_setting(connection, "me")
        view = next(v for v in reads.list_views(connection, me) if v.name == args.view)
        markers = {q: expected_marker(connection, me, view, q) for q in [*STRUCTURED, *TEXT]}
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "config.toml"
        config.write_text(f'[console]\nstart_view = "{args.view}"\n')
        with Console(args.workspace, env={"SUPPORTDESK_CONFIG": str(config)}) as console:
            console.drain(2.0, most=10)
            structured = run(console, STRUCTURED, markers, args.repeat)
            text = run(console, TEXT, markers, args.repeat)
            console.open_filter("the sort:relevance", previous=TEXT[-1])
            console.drain(0.2)
            sent = console.send("enter")
            _, answered = console.read_burst(5.0)
            console.drain(5.0, most=60)
            relevance_first = answered - sent
            rss = console.rss_mb()
    for name, timed in (("structured", structured), ("free text", text)):
        ms = [seconds * 1000 for _, seconds in timed]
        p50, p95 = percentile(ms, 50), percentile(ms, 95)
        print(f"{name:<10} n={len(ms):<3} p50 {p50:6.1f} ms   p95 {p95:6.1f} ms   max {max(ms):6.1f} ms")
        slowest = sorted(timed, key=lambda item: -item[1])[:3]
        print("  slowest: " + ", ".join(f"{query!r} {seconds * 1000:.0f} ms" for query, seconds in slowest))
    print(
        f"'the sort:relevance': first frame after enter {relevance_first * 1000:.0f} ms (rows follow from the worker)"
    )
    print(f"RSS at the end: {rss:.0f} MB")


if __name__ == "__main__":
    main()
