"""Whole ``supportdesk`` processes at 10k tickets, hyperfine-style: p50 / p90 wall and p50 cpu of
reads (list, search, show), writes (create, reply, note, status) and ``--help`` (issue 19).

    .venv/bin/python bench/cli_speed.py [--workspace /tmp/cli10k] [--tickets 10000] [--runs 21]
    .venv/bin/python bench/cli_speed.py --importtime 'tickets create …'   # the slowest imports

Writes go to a private copy of the workspace (rebuilt each run), so every run starts alike. Each
command gets one warm-up run. ``--floor`` also times ``python -c pass`` and ``python -c 'import
supportdesk.cli.main'`` (the entry point), with the fast read path's modules, and with typer and
the command tree (what every command but the fast reads imports): what no command can go below.
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import subprocess
import sys
from pathlib import Path

import cli_common
from cli_common import compile_sources, copy_workspace, demo_workspace, load, timed


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
            "write: tickets update 9997 --set status=… (pending, open by turns)",
            [*w, "tickets", "update", "9997", "--set", "status={status}", "--yes"],
        ),
    ]


def _agent_cases(source: Path) -> list[tuple[str, list[str]]]:
    """The reads again in a copy that acts as an agent of some groups (not an admin): each query
    then carries the visibility condition (store.viewer)."""
    import json
    import sqlite3
    from contextlib import closing

    copy = copy_workspace(source, source.with_name(source.name + "-agent"))
    with closing(sqlite3.connect(copy / "supportdesk.db")) as connection, connection:
        agent, group = connection.execute(
            "SELECT a.id, g.group_id FROM agent a JOIN agent_group g ON g.agent_id = a.id "
            "WHERE a.role = 'agent' ORDER BY a.email LIMIT 1"
        ).fetchone()
        connection.execute("UPDATE workspace_setting SET value = ? WHERE key = 'me'", (json.dumps(agent),))
        number = connection.execute(
            "SELECT max(number) FROM ticket WHERE group_id = ? AND number <= 1100", (group,)
        ).fetchone()[0]
    w = ["-w", str(copy)]
    return [
        (
            "read as an agent: tickets list -q 'status:open'",
            [*w, "tickets", "list", "-q", "status:open", "--plain", "-n", "50"],
        ),
        ("read as an agent: tickets list -q 'refund'", [*w, "tickets", "list", "-q", "refund", "--plain", "-n", "50"]),
        (f"read as an agent: tickets show {number}", [*w, "tickets", "show", str(number)]),
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
        ("… + the fast read path's modules", "import supportdesk.cli.main, supportdesk.cli.ticket_reads"),
        ("… + typer and the command tree (every other command)", "import supportdesk.cli.main, supportdesk.cli.root"),
        ("python -c 'import sqlalchemy' (the write path's SQL layer)", "import sqlalchemy"),
        ("python -c 'import pydantic' (the mutations' argument models)", "from pydantic import BaseModel"),
        (
            "… the write path: domain.write, domain.tx, one mutator, SQLite",
            "import supportdesk.domain.write, supportdesk.domain.tx, supportdesk.domain.mutations.tickets, "
            "sqlalchemy.dialects.sqlite",
        ),
        (
            "… + the CLI with typer and the tickets commands",
            "import supportdesk.domain.write, supportdesk.domain.tx, supportdesk.domain.mutations.tickets, "
            "sqlalchemy.dialects.sqlite, supportdesk.cli.main, supportdesk.cli.root, supportdesk.cli.ticket_writes",
        ),
        ("the SQLModel classes (what a write imported before)", "import supportdesk.store.models"),
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
    shares: dict[str, int] = {}
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        own, cumulative, name = line.removeprefix("import time:").split("|")
        rows.append((int(cumulative), name.rstrip()[1:]))
        package = _package(name.strip())
        shares[package] = shares.get(package, 0) + int(own)
    total = sum(c for c, n in rows if not n.startswith(" "))
    print(f"{command}: {total / 1000:.0f} ms importing (top-level modules, cumulative)")
    for cumulative, name in sorted(rows, reverse=True)[:20]:
        print(f"  {cumulative / 1000:7.1f} ms  {name.strip()}")
    whole = sum(shares.values())
    print(f"self time by package ({len(rows)} modules):")
    for package, own in sorted(shares.items(), key=lambda item: -item[1]):
        print(f"  {100 * own / whole:5.1f} %  {package}")


def _package(module: str) -> str:
    """The group a module's import time is counted under in ``--importtime``'s shares."""
    top = module.split(".")[0]
    if module.startswith("supportdesk.store.models"):
        return "the SQLModel table classes (store/models*.py)"
    if module.startswith("supportdesk.domain.mutations"):
        return "the mutator modules (domain/mutations/*)"
    if top in ("pydantic", "pydantic_core", "annotated_types", "typing_inspection"):
        return "pydantic"
    if top in ("typer", "click", "rich", "markdown_it", "pygments", "mdurl", "shellingham"):
        return "typer, click, rich"
    if top in ("sqlalchemy", "sqlmodel", "supportdesk"):
        return "the rest of supportdesk" if top == "supportdesk" else top
    return "stdlib and others"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workspace", type=Path, default=Path("/tmp/cli10k"))
    parser.add_argument("--tickets", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--floor", action="store_true", help="also time the interpreter and the CLI's import")
    parser.add_argument("--importtime", metavar="COMMAND", help="show where one command's import time goes")
    parser.add_argument("--only", metavar="TEXT", help="only the cases whose label holds TEXT (or one of A|B)")
    args = parser.parse_args()
    if args.importtime:
        _importtime(args.importtime)
        return
    compile_sources()
    print(load())
    source = demo_workspace(args.workspace, args.tickets)
    copy = copy_workspace(source, args.workspace.with_name(args.workspace.name + "-writes"))
    if args.floor:
        _floor(args.runs)
    for label, command in [*_cases(str(copy)), *_agent_cases(source)]:
        if args.only and not any(part in label for part in args.only.split("|")):
            continue
        p50, p90, cpu = _run(args.runs, command)
        print(f"{label:<56} p50 {p50 * 1000:6.0f} ms   p90 {p90 * 1000:6.0f} ms   cpu {cpu * 1000:5.0f} ms")
    print(load())


if __name__ == "__main__":
    main()
