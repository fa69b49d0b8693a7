"""From one agent's push to another agent's console having applied it, through an SSE poke.

Usage: python bench/sync_latency.py [--rounds 200]
Agent A writes a note and syncs; agent B runs the console's background SyncService. The time
is from the start of A's sync round to the moment the note is in B's workspace.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from supportdesk.domain import write
from supportdesk.sync.client import ServerClient
from supportdesk.sync.engine import SyncEngine
from supportdesk.sync.service import SyncService
from sync_harness import replica, team_server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=200)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        with team_server(tmp) as (server, tokens):
            writer, writer_client = replica(tmp / "a", server.url, tokens[0])
            reader, _ = replica(tmp / "b", server.url, tokens[1])
            service = SyncService(
                reader, interval=600, client_factory=lambda: ServerClient(server.url, tokens[1], timeout=10)
            )
            service.start()
            while service.status.connection != "online":
                time.sleep(0.05)
            ticket = write.apply(
                writer, "ticket.create", {"subject": "Live", "body": "b", "requester": {"value": "l@example.com"}}
            ).result["ticket_id"]
            SyncEngine(writer, writer_client).sync_once()
            latencies = []
            with reader.reading() as connection:
                for index in range(options.rounds):
                    message_id = write.apply(
                        writer, "ticket.note", {"ticket_id": ticket, "body": f"latency {index}"}
                    ).result["message_id"]
                    started = time.perf_counter()
                    SyncEngine(writer, writer_client).sync_once()
                    deadline = started + 10
                    while time.perf_counter() < deadline:
                        if connection.execute("SELECT 1 FROM message WHERE id = ?", (message_id,)).fetchone():
                            break
                        time.sleep(0.001)
                    latencies.append(time.perf_counter() - started)
            service.stop()
    latencies.sort()
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
    print(
        f"push -> applied on the other console via SSE over {len(latencies)} rounds: p50 {p50:.0f} ms, p99 {p99:.0f} ms"
    )


if __name__ == "__main__":
    main()
