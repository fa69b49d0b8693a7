"""Time the demo generator: ``python bench/demo_generation.py --tickets 1000000``.

Builds into a fresh temporary workspace (or --workspace) and prints the wall and CPU time, the
rows written per table and the overall rows per second.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from contextlib import closing
from pathlib import Path

from supportdesk.demo.generator import build_demo
from supportdesk.store.workspace import Workspace

TABLES = ("ticket", "message", "ticket_tag", "audit_event", "customer", "identity", "ticket_seen")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workspace", type=Path, help="build here (must not exist) and keep it")
    args = parser.parse_args()
    root = args.workspace or Path(tempfile.mkdtemp(prefix="sd-bench-")) / "ws"
    workspace = Workspace.open(root)
    started, cpu = time.perf_counter(), time.process_time()
    build_demo(workspace, tickets=args.tickets, seed=args.seed)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    workspace.close()
    with closing(workspace.connect()) as connection:
        counts = {t: connection.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    total = sum(counts.values())
    size = workspace.db_path.stat().st_size / 1e9
    print(
        f"{args.tickets:,} tickets: {elapsed:.1f} s ({cpu:.1f} s CPU), {total:,} rows, "
        f"{total / elapsed:,.0f} rows/s, {size:.2f} GB"
    )
    for table, count in counts.items():
        print(f"  {table:12} {count:>12,}")
    if args.workspace is None:
        shutil.rmtree(root.parent)


if __name__ == "__main__":
    main()
