"""Key-to-frame latency while scrolling the queue, p50 / p95 / max.

    .venv/bin/python bench/console_keys.py --workspace /work/bench-data/1m

Starts the console on the "All open" view (through a config file), then sends ``j`` (one row),
``pagedown`` (a page: often a page the cache lacks) and ``G``/``g`` (both ends) one at a time,
each 40 ms after the last frame, and times each key's bytes to the end of the frame drawn in
answer (see console_pty). The first frame after a key may show placeholder rows for a page
still on its way; the rows follow in a later frame.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from console_pty import Console, percentile
from supportdesk.store import reads
from supportdesk.store.workspace import Workspace, read_setting


def report(name: str, values: list[float]) -> None:
    ms = [v * 1000 for v in values]
    print(
        f"{name:<10} n={len(ms):<4} p50 {percentile(ms, 50):6.1f} ms   p95 {percentile(ms, 95):6.1f} ms   "
        f"max {max(ms):6.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workspace", type=Path, default=Path("/work/bench-data/1m"))
    parser.add_argument("--rows", type=int, default=300, help="j presses")
    parser.add_argument("--pages", type=int, default=100, help="pagedown presses")
    args = parser.parse_args()
    with Workspace(args.workspace).reading() as connection:
        me = read_setting(connection, "me")
        view = next(v for v in reads.list_views(connection, me) if v.name == "All open")
        plan = reads.plan_queue(view.query, me=me, sort=view.sort)
        first = reads.queue_page(connection, plan, limit=1).rows[0]
        total = reads.queue_count(connection, plan)
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "config.toml"
        config.write_text('[console]\nstart_view = "All open"\n')
        with Console(args.workspace, env={"SUPPORTDESK_CONFIG": str(config)}) as console:
            console.wait_for(f"{first.number} ", timeout=60)
            console.drain(1.0)
            print(f"{args.workspace}: All open holds {total:,} tickets")
            results: dict[str, list[float]] = {"j": [], "pagedown": [], "G / g": []}
            cpu: dict[str, float] = {}
            before = console.cpu_seconds()
            for _ in range(args.rows):
                results["j"].append(console.key_to_frame("j"))
                time.sleep(0.04)
            cpu["j"] = (console.cpu_seconds() - before) / args.rows
            before = console.cpu_seconds()
            for _ in range(args.pages):
                results["pagedown"].append(console.key_to_frame("pagedown"))
                time.sleep(0.04)
            cpu["pagedown"] = (console.cpu_seconds() - before) / args.pages
            for _ in range(10):
                results["G / g"].append(console.key_to_frame("G"))
                console.drain(0.3)
                results["G / g"].append(console.key_to_frame("g"))
                console.drain(0.3)
            rss = console.rss_mb()
    for name, values in results.items():
        report(name, values)
    for name, seconds in cpu.items():
        print(f"console CPU per {name}: {seconds * 1000:.1f} ms (includes page loads and the idle poll)")
    print(f"RSS at the end: {rss:.0f} MB")


if __name__ == "__main__":
    main()
