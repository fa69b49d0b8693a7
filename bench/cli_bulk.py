"""Bulk update of 10,000 tickets as one whole process (goal: ≤ 5 s), and the rerun that finds
nothing left to do.

    .venv/bin/python bench/cli_bulk.py [--workspace /tmp/cli50k] [--tickets 50000] [--count 10000]

Works on a private copy of the demo workspace: the numbers of ``--count`` tickets that are not
closed are piped into ``supportdesk tickets update - … --yes``.
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
from contextlib import closing
from pathlib import Path

import cli_common
from cli_common import copy_workspace, demo_workspace, load, timed

CHANGES = (
    ("--set priority=urgent", ["--set", "priority=urgent"]),
    ("--add-tag audit --assign none", ["--add-tag", "audit", "--assign", "none"]),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workspace", type=Path, default=Path("/tmp/cli50k"))
    parser.add_argument("--tickets", type=int, default=50_000)
    parser.add_argument("--count", type=int, default=10_000)
    args = parser.parse_args()
    source = demo_workspace(args.workspace, args.tickets)
    with tempfile.TemporaryDirectory() as scratch:
        for label, change in CHANGES:
            root = copy_workspace(source, Path(scratch) / "ws")
            with closing(sqlite3.connect(root / "supportdesk.db")) as connection:
                numbers = [
                    str(row[0])
                    for row in connection.execute(
                        "SELECT number FROM ticket WHERE status != 'closed' ORDER BY number LIMIT ?", (args.count,)
                    )
                ]
            piped = "\n".join(numbers) + "\n"
            command = ["--workspace", str(root), "tickets", "update", "-", *change, "--yes"]
            print(load())
            first, output = timed(command, stdin=piped)
            cpu = cli_common.LAST_CPU
            again, rerun = timed(command, stdin=piped)
            print(f"{len(numbers):,} tickets {label:<32} {first:5.2f} s wall, {cpu:5.2f} s cpu")
            print(f"  {output.strip()}")
            print(f"  rerun {again:5.2f} s wall, {cli_common.LAST_CPU:5.2f} s cpu: {rerun.strip()}")


if __name__ == "__main__":
    main()
