"""How long ``supportdesk report`` takes: ``python bench/report.py -w PATH``.

For each period (30 days, a year, everything) and grouping (none, agent, group, channel, day)
it times ``domain.metrics.build_report``, the function behind the command, after one unmeasured
run.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from _timing import measure, percentile
from supportdesk.domain.metrics import build_report, since_from
from supportdesk.store.times import to_db, utcnow
from supportdesk.store.workspace import Workspace


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-w", "--workspace", type=Path, required=True)
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
                "SELECT count(*) FROM ticket WHERE created_at >= ?", (to_db(start),)
            ).fetchone()[0]
            for by in args.by:
                group = None if by == "-" else by
                samples = measure(
                    lambda start=start, group=group: build_report(connection, since=start, until=now, by=group),
                    repeat=args.repeat,
                    warmup=1,
                )
                print(
                    f"--since {since:<10} --by {by:<8} ({covered:>9,} tickets created in the period): "
                    f"p50 {percentile(samples, 0.5) / 1000:6.2f} s"
                )


if __name__ == "__main__":
    main()
