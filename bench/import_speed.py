"""``supportdesk import`` throughput: tickets per second into a fresh workspace (goal ≥ 1,000/s).

    .venv/bin/python bench/import_speed.py [--source /tmp/import-src] [--tickets 5000]

Exports a demo workspace once (``demo --tickets N`` then ``export``), then imports the file into
a new, empty workspace as one ``supportdesk import`` process, then imports it again (a rerun
must find every ticket already there and write nothing). Prints wall and cpu time per run, with
the workspace's creation (migrations) timed apart, and checks the search index against its
content afterwards.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import cli_common
from cli_common import demo_workspace, load, timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, default=Path("/tmp/import-src"))
    parser.add_argument("--tickets", type=int, default=5_000)
    args = parser.parse_args()
    source = demo_workspace(args.source, args.tickets)
    export = source.with_name(source.name + ".jsonl")
    if not export.exists():
        timed(["-w", str(source), "export", "-o", str(export)])
    with export.open("rb") as handle:
        tickets = sum(1 for line in handle if line.strip())
    print(load())
    target = source.with_name(source.name + "-imported")
    shutil.rmtree(target, ignore_errors=True)
    empty = source.with_name(source.name + "-empty.jsonl")
    empty.write_text("")
    wall, _ = timed(["-w", str(target), "import", str(empty)])  # creates and migrates
    print(f"empty workspace (migrations)  wall {wall:6.2f} s   cpu {cli_common.LAST_CPU:6.2f} s")
    for label in ("import", "rerun"):
        wall, out = timed(["-w", str(target), "import", str(export)])
        cpu = cli_common.LAST_CPU
        print(
            f"{label:<6} {tickets:>7,} tickets  wall {wall:6.2f} s = {tickets / wall:6.0f}/s   "
            f"cpu {cpu:6.2f} s = {tickets / cpu:6.0f}/s   ({out.strip()})"
        )
    with closing(sqlite3.connect(target / "supportdesk.db")) as connection:
        for index in ("ticket_fts", "customer_fts"):
            connection.execute(f"INSERT INTO {index}({index}, rank) VALUES ('integrity-check', 1)")
        indexed = connection.execute("SELECT count(*) FROM ticket_fts_docsize").fetchone()[0]
    print(f"search index: integrity check passed, {indexed:,} ticket documents")
    print(load())


if __name__ == "__main__":
    main()
