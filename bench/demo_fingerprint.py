"""Is a demo the same as another build's? ``python bench/demo_fingerprint.py build --tickets 20000
--out a.json`` builds a demo into a temporary workspace with whatever ``supportdesk`` is on the
path (``PYTHONPATH=/tmp/main/src`` for main's code) and writes its fingerprint; ``compare a.json
b.json`` says which tables differ (exit status 1 if any).

A fingerprint is every table's row count and a SHA-256 of its rows, each row's ``repr`` in sorted
order — the full-text index's shadow tables included, so an index built differently shows. Left
out: ``sync_state``, ``config_version`` and ``token_version`` (random per workspace, whatever
built it) and the ``demo_clock`` setting (when it was built).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import tempfile
from contextlib import closing
from datetime import datetime
from pathlib import Path

#: Tables whose rows are random per workspace, not per demo.
PER_WORKSPACE = ("sync_state", "config_version", "token_version")


def fingerprint(db_path: Path) -> dict[str, list[object]]:
    """Row count and hash of the sorted rows of every table of the SQLite file at ``db_path``."""
    import sqlite3

    result: dict[str, list[object]] = {}
    with closing(sqlite3.connect(db_path)) as connection:
        tables = [
            str(r[0])
            for r in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        for table in tables:
            if table in PER_WORKSPACE:
                continue
            where = " WHERE key <> 'demo_clock'" if table == "workspace_setting" else ""
            lines = sorted(repr(tuple(row)) for row in connection.execute(f'SELECT * FROM "{table}"{where}'))
            digest = hashlib.sha256()
            for line in lines:
                digest.update(line.encode())
                digest.update(b"\n")
            result[table] = [len(lines), digest.hexdigest()]
    return result


def differences(first: dict[str, list[object]], second: dict[str, list[object]]) -> list[str]:
    """The tables whose count or hash differ, or that only one side has."""
    tables = (first.keys() | second.keys()) - set(PER_WORKSPACE)
    return sorted(t for t in tables if first.get(t) != second.get(t))


def build(tickets: int, seed: int, now: str | None) -> dict[str, list[object]]:
    from supportdesk.demo.generator import build_demo
    from supportdesk.store.workspace import Workspace

    root = Path(tempfile.mkdtemp(prefix="sd-fingerprint-")) / "ws"
    try:
        workspace = Workspace.open(root)
        build_demo(workspace, tickets=tickets, seed=seed, now=datetime.fromisoformat(now) if now else None)
        workspace.close()
        return fingerprint(workspace.db_path)
    finally:
        shutil.rmtree(root.parent)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    making = commands.add_parser("build", help="build a demo and write its fingerprint")
    making.add_argument("--tickets", type=int, default=20_000)
    making.add_argument("--seed", type=int, default=7)
    making.add_argument("--now", help="ISO instant the demo is built up to (default: the demo's epoch)")
    making.add_argument("--out", type=Path, required=True)
    comparing = commands.add_parser("compare", help="compare two fingerprint files")
    comparing.add_argument("first", type=Path)
    comparing.add_argument("second", type=Path)
    args = parser.parse_args()
    if args.command == "build":
        args.out.write_text(json.dumps(build(args.tickets, args.seed, args.now), indent=1, sort_keys=True))
        return 0
    first, second = (json.loads(p.read_text()) for p in (args.first, args.second))
    different = differences(first, second)
    for table in different:
        print(f"{table}: {first.get(table)} != {second.get(table)}")
    print(f"{len(first)} tables, {len(different)} differ")
    return 1 if different else 0


if __name__ == "__main__":
    sys.exit(main())
