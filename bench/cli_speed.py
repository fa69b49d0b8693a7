"""Whole ``supportdesk`` processes at 10k tickets, hyperfine-style: p50 / p90 wall and p50 cpu of
reads (list, search, show), writes (create, reply, note, status) and ``--help`` (issue 19).

    .venv/bin/python bench/cli_speed.py [--workspace /tmp/cli10k] [--tickets 10000] [--runs 21]
    .venv/bin/python bench/cli_speed.py --importtime 'tickets create …'   # the slowest imports

Writes go to a private copy of the workspace (rebuilt each run), so every run starts alike. Each
command gets one warm-up run. ``--floor`` also times ``python -c pass`` and ``python -c 'import
supportdesk.cli.main'``: what no command can go below.
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import subprocess
import sys
from pathlib import Path

import cli_common
from cli_common import copy_workspace, demo_workspace, load, timed


def _cases(root: str) -> list[tuple[str, list[str]]]:
    w = ["-w", root]
    return [
        ("--help", ["--help"]),
        ("tickets --help", ["tickets", "--help"]),
        (
            "read: tickets list -q 'status:open group:\"Tier 1\"'",
            [*w, "tickets", "list", "-q", 'status:open group:"Tier 1"', "--plain"],
        ),
        ("read: tickets list -q 'refund' (search, 50)", [*w, "tickets", "list", "-q", "refund", "--plain", "-n", "50"]),
        ("read: tickets show 1042", [*w, "tickets", "show", "1042"]),
        (
            "write: tickets create",
            [*w, "tickets", "create", "-s", "Bench ticket", "-r", "bench@example.com", "-b", "Hello"],
        ),
        ("write: tickets reply 9998", [*w, "tickets", "reply", "9998", "-b", "Thanks, looking into it."]),
        ("write: tickets note 9998", [*w, "tickets", "note", "9998", "-b", "internal"]),
        (
            "write: tickets update 9997 --set status=…",
            [*w, "tickets", "update", "9997", "--set", "status=pending", "--yes"],
        ),
    ]


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def _run(runs: int, args: list[str]) -> tuple[float, float, float]:
    timed(args)
    wall, cpu = [], []
    for _ in range(runs):
        wall.append(timed(args)[0])
        cpu.append(cli_common.LAST_CPU)
    return _percentile(wall, 0.5), _percentile(wall, 0.9), statistics.median(cpu)


def _floor(runs: int) -> None:
    for label, code in (
        ("python -c pass (interpreter start)", "pass"),
        ("python -c 'import supportdesk.cli.main'", "import supportdesk.cli.main"),
    ):
        command = [sys.executable, "-c", code]
        saved = cli_common.COMMAND
        cli_common.COMMAND = command
        try:
            p50, p90, cpu = _run(runs, [])
        finally:
            cli_common.COMMAND = saved
        print(f"{label:<56} p50 {p50 * 1000:6.0f} ms   p90 {p90 * 1000:6.0f} ms   cpu {cpu * 1000:5.0f} ms")


def _importtime(command: str) -> None:
    """The twenty slowest imports (cumulative) of one command, from ``python -X importtime``."""
    script = Path(sys.executable).with_name("supportdesk")
    result = subprocess.run(
        [sys.executable, "-X", "importtime", str(script), *shlex.split(command)],
        capture_output=True,
        text=True,
        check=False,
    )
    rows = []
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _self, cumulative, name = line.removeprefix("import time:").split("|")
        rows.append((int(cumulative), name.rstrip()[1:]))
    total = sum(c for c, n in rows if not n.startswith(" "))
    print(f"{command}: {total / 1000:.0f} ms importing (top-level modules, cumulative)")
    for cumulative, name in sorted(rows, reverse=True)[:20]:
        print(f"  {cumulative / 1000:7.1f} ms  {name.strip()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workspace", type=Path, default=Path("/tmp/cli10k"))
    parser.add_argument("--tickets", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--floor", action="store_true", help="also time the interpreter and the CLI's import")
    parser.add_argument("--importtime", metavar="COMMAND", help="show where one command's import time goes")
    args = parser.parse_args()
    if args.importtime:
        _importtime(args.importtime)
        return
    print(load())
    source = demo_workspace(args.workspace, args.tickets)
    copy = copy_workspace(source, args.workspace.with_name(args.workspace.name + "-writes"))
    if args.floor:
        _floor(args.runs)
    for label, command in _cases(str(copy)):
        p50, p90, cpu = _run(args.runs, command)
        print(f"{label:<56} p50 {p50 * 1000:6.0f} ms   p90 {p90 * 1000:6.0f} ms   cpu {cpu * 1000:5.0f} ms")
    print(load())


if __name__ == "__main__":
    main()
