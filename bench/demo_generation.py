"""Time the demo generator: ``python bench/demo_generation.py --tickets 1000000``.

Builds into a fresh temporary workspace (or --workspace) and prints the wall and CPU time, the
phases (rows; indexes, full-text and rollups; merges and commit) in wall and CPU, the peak
resident memory, the rows written per table and the overall rows per second. CPU counts this
process's threads and the processes it waited for (the demo's ticket generator may run in one).
"""

from __future__ import annotations

import argparse
import itertools
import os
import resource
import shutil
import tempfile
import time
from contextlib import closing
from pathlib import Path

from supportdesk.demo.generator import build_demo
from supportdesk.store.workspace import Workspace

TABLES = ("ticket", "message", "ticket_tag", "audit_event", "customer", "identity", "ticket_seen")


def cpu_seconds(who: int | None = None) -> float:
    """User + system CPU of this process and of its finished children (or of ``who`` only)."""
    kinds = (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN) if who is None else (who,)
    return sum(u.ru_utime + u.ru_stime for u in map(resource.getrusage, kinds))


class Phases:
    """Wall and CPU instants at the generator's progress marks: rows end when indexing starts."""

    def __init__(self) -> None:
        self.marks: dict[str, tuple[float, float]] = {"start": (time.perf_counter(), cpu_seconds())}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage == "indexing":
            name = "rows" if done == 0 else "indexes"
            self.marks[name] = now = (time.perf_counter(), cpu_seconds())
            start = self.marks["start"]
            # as it happens, so that a long build stopped half-way still tells its first phase
            print(f"  {name} done after {now[0] - start[0]:.1f} s wall / {now[1] - start[1]:.1f} s CPU", flush=True)

    def report(self) -> str:
        self.marks["rest"] = (time.perf_counter(), cpu_seconds())
        names = ["start", *(n for n in ("rows", "indexes", "rest") if n in self.marks)]
        parts = []
        for before, after in itertools.pairwise(names):
            (w0, c0), (w1, c1) = self.marks[before], self.marks[after]
            parts.append(f"{after} {w1 - w0:.1f} s wall / {c1 - c0:.1f} s CPU")
        return ", ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workspace", type=Path, help="build here (must not exist) and keep it")
    args = parser.parse_args()
    root = args.workspace or Path(tempfile.mkdtemp(prefix="sd-bench-")) / "ws"
    workspace = Workspace.open(root)
    load = os.getloadavg()
    phases = Phases()
    started, cpu, children = time.perf_counter(), cpu_seconds(), cpu_seconds(resource.RUSAGE_CHILDREN)
    build_demo(workspace, tickets=args.tickets, seed=args.seed, progress=phases)
    elapsed, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    children = cpu_seconds(resource.RUSAGE_CHILDREN) - children
    split = phases.report()
    workspace.close()
    with closing(workspace.connect()) as connection:
        counts = {t: connection.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    total = sum(counts.values())
    size = workspace.db_path.stat().st_size / 1e9
    peak = max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    print(
        f"{args.tickets:,} tickets: {elapsed:.1f} s ({cpu:.1f} s CPU, {children:.1f} s of it in child processes), "
        f"{total:,} rows, "
        f"{total / elapsed:,.0f} rows/s, {size:.2f} GB, peak RSS {peak / 1024:.0f} MiB, "
        f"load average before {load[0]:.1f}, after {os.getloadavg()[0]:.1f}"
    )
    print(f"  phases: {split}")
    for table, count in counts.items():
        print(f"  {table:12} {count:>12,}")
    if args.workspace is None:
        shutil.rmtree(root.parent)


if __name__ == "__main__":
    main()
