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
from supportdesk.sync.engine import SyncEngine
from sync_harness import replica, team_server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--changes", type=int, default=1000)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        with team_server(tmp) as (server, tokens):
            writer, writer_client = replica(tmp / "a", server.url, tokens[0])
            reader, reader_client = replica(tmp / "b", server.url, tokens[1])
            tickets = [
                write.apply(
                    writer,
                    "ticket.create",
                    {"subject": f"Pull {n}", "body": "b", "requester": {"value": f"p{n}@example.com"}},
                ).result["ticket_id"]
                for n in range(50)
            ]
            SyncEngine(writer, writer_client).sync_once()
            start_cursor = SyncEngine(reader, reader_client).sync_once().cursor
            # a note writes two change records (the message and the ticket's updated_at)
            for index in range(options.changes // 2):
                write.apply(writer, "ticket.note", {"ticket_id": tickets[index % 50], "body": f"note {index}"})
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
