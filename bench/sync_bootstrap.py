"""Bootstrap of 100k tickets + 1M messages, end to end, and the client's peak RSS.

Usage: python bench/sync_bootstrap.py [--tickets 100000] [--messages 1000000] [--keep DIR]
Builds a server database (the demo generator, then extra messages up to --messages), serves it
on 127.0.0.1, and runs ``login``'s bootstrap in a fresh client process as an admin (who sees
every ticket): NDJSON over HTTP, bulk upserts, full-text indexes rebuilt at the end.
"""

from __future__ import annotations

import argparse
import json
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sync_harness import Server


def build(root: Path, tickets: int, messages: int) -> tuple[str, str]:
    from supportdesk.demo.generator import build_demo
    from supportdesk.server import admin
    from supportdesk.server.db import open_database
    from supportdesk.store import fts
    from supportdesk.store.workspace import Workspace

    build_demo(Workspace.open(root), tickets=tickets, seed=7)
    path = root / "supportdesk.db"
    connection = sqlite3.connect(path)
    fts.drop_triggers(connection)
    have = connection.execute("SELECT count(*) FROM message").fetchone()[0]
    while have < messages:
        extra = min(messages - have, have)
        connection.execute(
            "INSERT INTO message (id, ticket_id, channel, direction, public, author_kind, author_agent_id, "
            "author_customer_id, body, meta, created_at) SELECT lower(hex(randomblob(16))), ticket_id, channel, "
            "direction, public, author_kind, author_agent_id, author_customer_id, body, meta, created_at "
            f"FROM message LIMIT {extra}"
        )
        connection.commit()
        have += extra
    fts.rebuild_and_restore(connection)
    connection.commit()
    connection.close()
    database = open_database(str(path))
    email = "bench-admin@bench.test"
    admin.add_agent(database, "Bench Admin", email, "admin", [])
    token = admin.new_token(database, email)[1]
    database.dispose()
    return str(path), token


def client(url: str, token: str, folder: str) -> None:
    """Run in its own process: bootstrap into an empty workspace, report time and peak RSS."""
    from supportdesk.store.workspace import Workspace
    from supportdesk.sync.attach import attach
    from supportdesk.sync.bootstrap import bootstrap
    from supportdesk.sync.client import ServerClient
    from supportdesk.sync.profiles import Profile

    workspace = Workspace.open(folder)
    with ServerClient(url, token, timeout=120) as server:
        me = server.me()
        attach(workspace, Profile("bench", url, me["email"], "file"), str(me["id"]))
        started = time.perf_counter()
        summary = bootstrap(workspace, server)
        elapsed = time.perf_counter() - started
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"rows": summary.rows, "seconds": elapsed, "peak_rss_mb": rss}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--client", nargs=3, metavar=("URL", "TOKEN", "DIR"), help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.client:
        client(*options.client)
        return
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        started = time.perf_counter()
        db, token = build(tmp / "server", options.tickets, options.messages)
        print(f"server database built in {time.perf_counter() - started:.0f} s")
        with Server(db, tmp / "server.log") as server:
            done = subprocess.run(
                [sys.executable, __file__, "--client", server.url, token, str(tmp / "client")],
                capture_output=True,
                text=True,
                check=True,
            )
            result = json.loads(done.stdout.strip().splitlines()[-1])
            server_rss = server.rss_mb()
        with sqlite3.connect(tmp / "client" / "supportdesk.db") as check:
            tickets = check.execute("SELECT count(*) FROM ticket").fetchone()[0]
            messages = check.execute("SELECT count(*) FROM message").fetchone()[0]
    print(
        f"bootstrap of {tickets:,} tickets + {messages:,} messages ({result['rows']:,} rows): "
        f"{result['seconds']:.1f} s end to end ({result['rows'] / result['seconds']:,.0f} rows/s), "
        f"client peak RSS {result['peak_rss_mb']:.0f} MB, server RSS after {server_rss:.0f} MB"
    )


if __name__ == "__main__":
    main()
