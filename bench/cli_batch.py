"""``supportdesk batch`` throughput: operations per second in one process (goal: ≥ 2,000/s).

    .venv/bin/python bench/cli_batch.py [--workspace /tmp/cli10k] [--tickets 10000] [--lines 2000]

Runs a mix of writes (notes, replies, status changes, creates) and reads (show, a listing) on a
private copy of a demo workspace, as one ``supportdesk batch`` process fed on stdin, and prints
wall and cpu time per operation, start-up included and excluded (the start-up is timed with an
empty batch).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
from contextlib import closing
from pathlib import Path

import cli_common
from cli_common import copy_workspace, demo_workspace, load, timed


def _open_tickets(root: Path, count: int) -> list[int]:
    with closing(sqlite3.connect(root / "supportdesk.db")) as connection:
        rows = connection.execute(
            "SELECT number FROM ticket WHERE status IN ('open', 'new') AND merged_into_id IS NULL "
            "ORDER BY number DESC LIMIT ?",
            (count,),
        ).fetchall()
    return [r[0] for r in rows]


def _mix(tickets: list[int], lines: int, kind: str) -> str:
    out = []
    for i in range(lines):
        number = str(tickets[i % len(tickets)])
        which = kind if kind != "mix" else ("note", "reply", "status", "create", "note", "show")[i % 6]
        if which == "note":
            request = {"cmd": "tickets note", "args": {"ticket": number, "body": f"checked {i}"}}
        elif which == "reply":
            request = {"cmd": "tickets reply", "args": {"ticket": number, "body": f"Reply {i}"}}
        elif which == "status":
            status = "pending" if i % 2 else "open"
            request = {"cmd": "tickets update", "args": {"ticket": [number], "set": [f"status={status}"], "yes": True}}
        elif which == "create":
            request = {
                "cmd": "tickets create",
                "args": {"subject": f"Batch {i}", "requester": f"b{i % 50}@example.com", "body": "hello"},
            }
        else:
            request = {"cmd": "tickets show", "args": {"ticket": number, "json": True}}
        out.append(json.dumps({**request, "id": i}))
    return "\n".join(out) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workspace", type=Path, default=Path("/tmp/cli10k"))
    parser.add_argument("--tickets", type=int, default=10_000)
    parser.add_argument("--lines", type=int, default=2_000)
    parser.add_argument("--kinds", default="note,mix", help="note, reply, status, create, show or mix")
    parser.add_argument(
        "--commit-every", type=int, default=None, help="passed to batch (1: a transaction per line, as before)"
    )
    parser.add_argument("--commit-ms", type=int, default=None, help="passed to batch (a group's longest wait)")
    args = parser.parse_args()
    source = demo_workspace(args.workspace, args.tickets)
    print(load())
    copy = copy_workspace(source, args.workspace.with_name(args.workspace.name + "-batch"))
    tickets = _open_tickets(copy, 200)
    start_wall, _ = timed(["-w", str(copy), "batch"], stdin="")
    start_cpu = cli_common.LAST_CPU
    print(f"empty batch (start-up)        wall {start_wall * 1000:6.0f} ms   cpu {start_cpu * 1000:6.0f} ms")
    for kind in args.kinds.split(","):
        stdin = _mix(tickets, args.lines, kind)
        grouping = [] if args.commit_every is None else ["--commit-every", str(args.commit_every)]
        grouping += [] if args.commit_ms is None else ["--commit-ms", str(args.commit_ms)]
        wall, out = timed(["-w", str(copy), "batch", *grouping], stdin=stdin)
        cpu = cli_common.LAST_CPU
        failed = sum(1 for line in out.splitlines() if not json.loads(line)["ok"])
        n = args.lines
        print(
            f"{kind:<8} {n:>6} lines ({failed} failed)  wall {wall:6.2f} s = {n / wall:7.0f} ops/s "
            f"({n / max(wall - start_wall, 1e-9):7.0f}/s after start-up)   cpu {cpu:6.2f} s = {n / cpu:7.0f} ops/s "
            f"({n / max(cpu - start_cpu, 1e-9):7.0f}/s after start-up)"
        )
    print(load())


if __name__ == "__main__":
    main()
