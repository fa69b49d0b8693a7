"""``supportdesk import`` throughput: tickets per second into a fresh workspace (goal ≥ 1,000/s).

    .venv/bin/python bench/import_speed.py [--source /tmp/import-src] [--tickets 5000]
    git archive main src | tar -x -C /tmp/before
    .venv/bin/python bench/import_speed.py --source /tmp/import-src --before /tmp/before/src --rounds 7

Exports a demo workspace once (``demo --tickets N`` then ``export``), then imports the file into
a new, empty workspace as one ``supportdesk import`` process, then imports it again (a rerun
must find every ticket already there and write nothing). Prints wall and cpu time per run, with
the workspace's creation (migrations) timed apart, and checks the search index against its
content afterwards.

With ``--before SRC`` (another source tree, e.g. main's ``src``) the first import alone is run
``--rounds`` times by each tree turn about, each into a fresh copy of one empty, migrated
workspace, both trees byte-compiled first; prints each round's cpu and the medians.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import statistics
from contextlib import closing
from pathlib import Path

import cli_common
from cli_common import compile_sources, copy_workspace, demo_workspace, load, timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, default=Path("/tmp/import-src"))
    parser.add_argument("--tickets", type=int, default=5_000)
    parser.add_argument("--before", type=Path, help="another source tree to compare with, turn about")
    parser.add_argument("--rounds", type=int, default=5)
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
    if args.before is not None:
        _turn_about(args.before, target, export, tickets, args.rounds)
        return
    for label in ("import", "rerun"):
        wall, out = timed(["-w", str(target), "import", str(export)])
        cpu = cli_common.LAST_CPU
        print(
            f"{label:<6} {tickets:>7,} tickets  wall {wall:6.2f} s = {tickets / wall:6.0f}/s   "
            f"cpu {cpu:6.2f} s = {tickets / cpu:6.0f}/s   ({out.strip()})"
        )
    _check_index(target)
    print(load())


def _turn_about(before: Path, empty: Path, export: Path, tickets: int, rounds: int) -> None:
    """The import by ``before``'s tree and this checkout's, turn about, each into a fresh copy
    of the empty workspace ``empty``."""
    compile_sources(before.resolve(), cli_common.ROOT / "src")
    trees = {"before": str(before.resolve()), "this tree": str(cli_common.ROOT / "src")}
    cpu: dict[str, list[float]] = {name: [] for name in trees}
    into = empty.with_name(empty.name + "-round")
    for round_ in range(1, rounds + 1):
        for name, tree in trees.items():
            copy_workspace(empty, into)
            wall, out = timed(["-w", str(into), "import", str(export)], env={"PYTHONPATH": tree})
            cpu[name].append(cli_common.LAST_CPU)
            print(
                f"round {round_} {name:<9}  cpu {cli_common.LAST_CPU:6.2f} s = {tickets / cli_common.LAST_CPU:6.0f}/s"
                f"   wall {wall:6.2f} s   {load()}   ({out.strip()})"
            )
        _check_index(into)
    for name, runs in cpu.items():
        middle = statistics.median(runs)
        print(f"median {name:<9}  cpu {middle:6.2f} s = {tickets / middle:6.0f} tickets/s   (runs: {_listed(runs)})")
    ratios = [after / first for first, after in zip(cpu["before"], cpu["this tree"], strict=True)]
    print(f"this tree / before, by round: {_listed(ratios)}   median {statistics.median(ratios):.2f}")
    shutil.rmtree(into, ignore_errors=True)


def _listed(values: list[float]) -> str:
    return ", ".join(f"{value:.2f}" for value in values)


def _check_index(target: Path) -> None:
    with closing(sqlite3.connect(target / "supportdesk.db")) as connection:
        for index in ("ticket_fts", "customer_fts"):
            connection.execute(f"INSERT INTO {index}({index}, rank) VALUES ('integrity-check', 1)")
        indexed = connection.execute("SELECT count(*) FROM ticket_fts_docsize").fetchone()[0]
    print(f"search index: integrity check passed, {indexed:,} ticket documents")


if __name__ == "__main__":
    os.environ.pop("PYTHONPATH", None)
    main()
