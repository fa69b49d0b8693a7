"""Pulling 1,000 changes: one agent pushes work, another pulls and applies it (one ``sync``).

Usage: python bench/sync_pull.py [--changes 1000]
Prints the time of the second agent's sync round (pull + rebase into its workspace).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from supportdesk.domain import write
from supportdesk.store.workspace import Workspace
from supportdesk.sync.attach import attach
from supportdesk.sync.client import ServerClient
from supportdesk.sync.engine import SyncEngine
from supportdesk.sync.profiles import Profile
from sync_harness import Server, make_team


def replica(root: Path, url: str, token: str) -> tuple[Workspace, ServerClient]:
    workspace = Workspace.open(root)
    client = ServerClient(url, token)
    me = client.me()
    attach(workspace, Profile("bench", url, me["email"], "file"), str(me["id"]))
    SyncEngine(workspace, client).sync_once()
    return workspace, client


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--changes", type=int, default=1000)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        db = str(tmp / "server.db")
        tokens = list(make_team(db).values())
        with Server(db, tmp / "server.log") as server:
            writer, writer_client = replica(tmp / "a", server.url, tokens[0])
            reader, reader_client = replica(tmp / "b", server.url, tokens[1])
            start_cursor = SyncEngine(reader, reader_client).sync_once().cursor
            ticket = write.apply(
                writer, "ticket.create", {"subject": "Pull", "body": "b", "requester": {"value": "p@example.com"}}
            ).result["ticket_id"]
            # a note writes two change records (the message and the ticket's updated_at)
            for index in range(options.changes // 2):
                write.apply(writer, "ticket.note", {"ticket_id": ticket, "body": f"note {index}"})
            SyncEngine(writer, writer_client).sync_once()
            started = time.perf_counter()
            summary = SyncEngine(reader, reader_client).sync_once()
            elapsed = time.perf_counter() - started
            print(
                f"pulled and applied {summary.pulled:,} changes (cursor {start_cursor} -> {summary.cursor}) "
                f"in {elapsed * 1000:.0f} ms ({summary.pulled / elapsed:,.0f} changes/s)"
            )


if __name__ == "__main__":
    main()
