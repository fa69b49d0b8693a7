"""Time an erasure on a large workspace: ``python bench/erasure.py --tickets 100000``.

Builds a demo workspace (or copies --workspace), erases the customer with the most tickets as the
admin would (``customer.erase``, then the files and the log after the commit) and prints the wall
time with its biggest part, merging the search index, timed alone on the same file beforehand.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from contextlib import closing
from pathlib import Path

from supportdesk.demo.generator import build_demo
from supportdesk.domain import write
from supportdesk.domain.context import SYSTEM
from supportdesk.domain.mutations.privacy import finish_erase
from supportdesk.store import fts
from supportdesk.store.workspace import DB_NAME, Workspace


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--workspace", type=Path, help="copy this demo workspace instead of building one")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="sd-bench-erase-")) / "ws"
    if args.workspace:
        root.mkdir()
        shutil.copy(args.workspace / DB_NAME, root / DB_NAME)
    workspace = Workspace.open(root)
    if not args.workspace:
        build_demo(workspace, tickets=args.tickets, seed=7)
    with closing(workspace.connect()) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        customer_id, tickets = connection.execute(
            "SELECT requester_id, count(*) FROM ticket GROUP BY requester_id ORDER BY count(*) DESC LIMIT 1"
        ).fetchone()
        total = connection.execute("SELECT count(*) FROM ticket").fetchone()[0]
        started = time.perf_counter()
        for statement in fts.merge_statements():
            connection.execute(statement)
        merge = time.perf_counter() - started
    started = time.perf_counter()
    outcome = write.apply(workspace, "customer.erase", {"customer_id": customer_id}, actor=SYSTEM)
    finish_erase(workspace, outcome.result["files"])
    elapsed = time.perf_counter() - started
    size = workspace.db_path.stat().st_size / 1e9
    print(
        f"{total:,} tickets ({size:.2f} GB): erasing a customer with {tickets} tickets and "
        f"{outcome.result['messages']} messages took {elapsed:.2f} s; merging the search indexes alone {merge:.2f} s"
    )
    workspace.close()
    shutil.rmtree(root.parent)


if __name__ == "__main__":
    main()
