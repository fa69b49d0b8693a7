"""Launch to first queue frame, and the console's memory (RSS), on a big workspace.

    .venv/bin/python bench/console_launch.py --workspace /work/bench-data/1m --runs 5

Times from starting the process to the end of the first frame that shows the first row of the
start view (the first saved view), read from a pseudo-terminal. RSS is read from /proc after
the first frame, after paging through 200 pages of "All open", and after a search.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from console_pty import Console, first_row_marker, percentile
from supportdesk.store import reads
from supportdesk.store.workspace import Workspace, read_setting


def first_row(workspace: Path) -> tuple[str, reads.QueueRow]:
    with Workspace(workspace).reading() as connection:
        me = read_setting(connection, "me")
        view = reads.list_views(connection, me)[0]
        row = reads.queue_page(connection, reads.plan_queue(view.query, me=me, sort=view.sort), limit=1).rows[0]
    return view.name, row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workspace", type=Path, default=Path("/work/bench-data/1m"))
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    view, row = first_row(args.workspace)
    marker = first_row_marker(row.number, row.subject)
    print(f"workspace {args.workspace}, start view {view!r}, waiting for {marker!r}")
    launches: list[float] = []
    rss: dict[str, float] = {}
    for run in range(args.runs):
        with Console(args.workspace) as console:
            at = console.wait_for(marker, timeout=60)
            launches.append(at - console.started)
            if run == args.runs - 1:
                console.drain(1.0)
                rss["after first frame"] = console.rss_mb()
                console.open_filter("status<solved")
                console.send("enter")
                console.drain(1.0)
                for _ in range(200):
                    console.send("pagedown")
                    console.read_burst(0.2)
                console.drain(1.5)
                rss["after 200 pages"] = console.rss_mb()
                console.open_filter("refund", previous="status<solved")
                console.send("enter")
                console.drain(1.5)
                rss["after a search"] = console.rss_mb()
    print(f"launch to first queue frame over {len(launches)} runs: ")
    print(
        f"  median {statistics.median(launches) * 1000:.0f} ms, p95 {percentile(launches, 95) * 1000:.0f} ms, "
        f"min {min(launches) * 1000:.0f} ms, max {max(launches) * 1000:.0f} ms"
    )
    for name, value in rss.items():
        print(f"RSS {name}: {value:.0f} MB")


if __name__ == "__main__":
    main()
