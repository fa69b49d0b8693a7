"""How long ``supportdesk report`` takes on a big workspace.

    .venv/bin/python bench/report.py /path/to/workspace [--repeat 3]

For each period (30 days, a year, everything) and each grouping (none, agent, group, channel,
day) it prints the first (cold-ish) run and the median of ``--repeat`` warm runs of
``domain.metrics.build_report``, the function behind the command.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC
from pathlib import Path

from supportdesk.domain.metrics import build_report, since_from
from supportdesk.store.times import utcnow
from supportdesk.store.workspace import Workspace


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("workspace", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--since", nargs="*", default=["30d", "365d", "2000-01-01"])
    parser.add_argument("--by", nargs="*", default=["-", "agent", "group", "channel", "day"])
    args = parser.parse_args()
    workspace = Workspace.open(args.workspace, create=False)
    now = utcnow()
    with workspace.reading() as connection:
        total = connection.execute("SELECT count(*) FROM ticket").fetchone()[0]
        print(f"{total:,} tickets in {args.workspace}")
        for since in args.since:
            start = since_from(since, now)
            covered = connection.execute(
                "SELECT count(*) FROM ticket WHERE created_at >= ?",
                (start.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),),
            ).fetchone()[0]
            for by in args.by:
                group = None if by == "-" else by
                samples = []
                for _ in range(args.repeat + 1):
                    started = time.perf_counter()
                    report = build_report(connection, since=start, until=now, by=group)
                    samples.append(time.perf_counter() - started)
                print(
                    f"--since {since:<10} --by {by:<8} {covered:>9,} tickets in period, {len(report.rows):>4} rows: "
                    f"first {samples[0]:6.2f} s, warm median {statistics.median(samples[1:]):6.2f} s"
                )


if __name__ == "__main__":
    main()
