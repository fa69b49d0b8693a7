"""From one agent's push to another agent's console having applied it, through an SSE poke.

Usage: python bench/sync_latency.py [--rounds 200] [--postgres]
       python bench/sync_latency.py --outage 40 --rounds 4 [--postgres]

Agent A writes a note and syncs; agent B runs the console's background SyncService. The time
is from the start of A's sync round to the moment the note is in B's workspace.

With ``--outage S`` each round first stops the server for S seconds and starts it again (as an
upgrade or a crash would), then A replies at once: the time measured is how long B's console
takes to notice the server is back and catch up. B's console keeps its own defaults here
(interval 30 s, backoff up to a minute), as an agent's would.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from supportdesk.domain import write
from supportdesk.sync.client import ServerClient
from supportdesk.sync.engine import SyncEngine
from supportdesk.sync.service import SyncService
from sync_harness import Server, drop_postgres, fresh_postgres, make_team, replica


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--postgres", action="store_true", help="Serve from PostgreSQL (SUPPORTDESK_TEST_PG_URL).")
    parser.add_argument("--outage", type=float, default=0.0, help="Stop the server this long before each round.")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        name = f"sd_latency_{os.getpid()}"
        db = fresh_postgres(name) if options.postgres else str(tmp / "server.db")
        tokens = list(make_team(db).values())
        server = Server(db, tmp / "server.log").__enter__()
        try:
            latencies = measure(server, tokens, tmp, options.rounds, options.outage)
        finally:
            server.__exit__(None, None, None)
            if options.postgres:
                drop_postgres(name)
    latencies.sort()
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000
    what = f"after a {options.outage:g} s outage, " if options.outage else ""
    print(
        f"push -> applied on the other console via SSE, {what}{'PostgreSQL' if options.postgres else 'SQLite'}, "
        f"{len(latencies)} rounds: p50 {p50:.0f} ms, p99 {p99:.0f} ms, max {latencies[-1] * 1000:.0f} ms"
    )


def measure(server: Server, tokens: list[str], tmp: Path, rounds: int, outage: float) -> list[float]:
    writer, writer_client = replica(tmp / "a", server.url, tokens[0])
    reader, _ = replica(tmp / "b", server.url, tokens[1])
    if outage:
        service = SyncService(reader, client_factory=lambda: ServerClient(server.url, tokens[1], timeout=30))
    else:
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
    deadline_after = 120.0 if outage else 10.0
    with reader.reading() as connection:
        for index in range(rounds):
            if outage:
                server.__exit__(None, None, None)
                time.sleep(outage)
                server.__enter__()
                writer_client.close()
                writer_client = ServerClient(server.url, tokens[0])
            message_id = write.apply(writer, "ticket.note", {"ticket_id": ticket, "body": f"latency {index}"}).result[
                "message_id"
            ]
            started = time.perf_counter()
            SyncEngine(writer, writer_client).sync_once()
            deadline = started + deadline_after
            while time.perf_counter() < deadline:
                if connection.execute("SELECT 1 FROM message WHERE id = ?", (message_id,)).fetchone():
                    break
                time.sleep(0.001)
            latencies.append(time.perf_counter() - started)
            if outage:
                print(f"round {index}: {latencies[-1]:.1f} s", flush=True)
    service.stop()
    writer_client.close()
    return latencies


if __name__ == "__main__":
    main()
