"""Listing 100,000 tickets as JSONL (rows/s), and exporting them whole (tickets/s).

.venv/bin/python bench/cli_jsonl.py [--workspace /tmp/cli100k] [--tickets 100000]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cli_common
from cli_common import demo_workspace, load, timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workspace", type=Path, default=Path("/tmp/cli100k"))
    parser.add_argument("--tickets", type=int, default=100_000)
    args = parser.parse_args()
    root = str(demo_workspace(args.workspace, args.tickets))
    print(load())
    for label, command in (
        ("tickets list --jsonl (all fields)", ["tickets", "list", "--jsonl"]),
        ("tickets list --jsonl --fields number,status", ["tickets", "list", "--jsonl", "--fields", "number,status"]),
        ("tickets list --csv", ["tickets", "list", "--csv"]),
        ("export (whole tickets with messages)", ["export"]),
    ):
        elapsed, output = timed(["--workspace", root, *command])
        rows = output.count("\n") - (1 if "--csv" in command else 0)
        size = len(output.encode()) / 1e6
        cpu = cli_common.LAST_CPU
        print(
            f"{label:<44} {rows:>8,} lines in {elapsed:5.2f} s = {rows / elapsed:>7,.0f}/s"
            f" (cpu {cpu:5.2f} s = {rows / cpu:>7,.0f}/s, {size:,.0f} MB)"
        )


if __name__ == "__main__":
    main()
