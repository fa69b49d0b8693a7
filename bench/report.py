"""How long ``supportdesk report`` takes: ``python bench/report.py -w PATH [--slow]``.

For each period (30 days, a year, everything) and grouping (none, agent, group, channel, day)
it times ``domain.metrics.build_report``, the function behind the command, after one unmeasured
run, in wall-clock and in CPU seconds (on a shared, loaded machine the CPU time is the cost of
the report itself; the wall time adds the wait for a core). With ``--slow`` it also times the
same report from ``ticket_timing`` alone (``rollup=False``, what reports did before the per-day
rollup), alternating the two.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from _timing import measure, percentile
from supportdesk.domain.metrics import build_report, since_from
from supportdesk.store.times import parse_instant, to_db, utcnow
from supportdesk.store.workspace import Workspace


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-w", "--workspace", type=Path, required=True)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--since", nargs="*", default=["30d", "365d", "2000-01-01"])
    parser.add_argument("--by", nargs="*", default=["-", "agent", "group", "channel", "day"])
    parser.add_argument("--now", help="the report's 'now' (default: the clock's)")
    parser.add_argument("--slow", action="store_true", help="also time the slow path, for comparison")
    args = parser.parse_args()
    workspace = Workspace.open(args.workspace, create=False)
    now = parse_instant(args.now) if args.now else utcnow()
    paths = (True, False) if args.slow else (True,)
    with workspace.reading() as connection:
        total = connection.execute("SELECT count(*) FROM ticket_timing").fetchone()[0]
        print(f"{total:,} tickets in {args.workspace}")
        for since in args.since:
            start = since_from(since, now)
            covered = connection.execute(
                "SELECT count(*) FROM ticket_timing WHERE created_at >= ? AND created_at < ?",
                (to_db(start), to_db(now)),
            ).fetchone()[0]
            for by in args.by:
                group = None if by == "-" else by
                for rollup in paths:
                    cpu: list[float] = []

                    def run(
                        start: object = start, group: str | None = group, rollup: bool = rollup, cpu: list[float] = cpu
                    ) -> None:
                        began = time.process_time()
                        build_report(connection, since=start, until=now, by=group, rollup=rollup)  # type: ignore[arg-type]
                        cpu.append(time.process_time() - began)

                    samples = measure(run, repeat=args.repeat, warmup=1)
                    print(
                        f"--since {since:<10} --by {by:<8} ({covered:>9,} tickets created in the period) "
                        f"{'rollup' if rollup else 'slow  '}: p50 {percentile(samples, 0.5) / 1000:6.2f} s wall, "
                        f"{percentile(cpu[1:], 0.5):6.2f} s CPU",
                        flush=True,
                    )


if __name__ == "__main__":
    main()
