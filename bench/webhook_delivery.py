"""Webhook delivery: latency from a write's commit to a local receiver, and deliveries per second.

Usage: python bench/webhook_delivery.py [--backlog 1000] [--rounds 100] [--postgres]

1. Throughput: ``--backlog`` tickets are opened (as the channels do) with one endpoint registered
   for ``ticket.created`` while the server is down, so that many signed deliveries are queued;
   then ``supportdesk serve`` starts and the receiver counts them in: deliveries per second from
   the first to the last (each a signed POST the receiver answers 200).
2. Latency: ``--rounds`` tickets created one at a time over REST; for each, the time from the
   create's answer (the write has committed before it answers) to the receiver having the event
   (p50, p95). The sender polls once a second and is woken by each write that queued a delivery,
   so this measures the wake-up path, not the poll.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import orjson

from sync_harness import Server, drop_postgres, fresh_postgres, make_team


class Receiver:
    """A local endpoint that answers 200 and notes when each event arrived (monotonic)."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                at = time.monotonic()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()
                number = str(orjson.loads(body)["data"]["ticket"]["number"])
                with receiver.changed:
                    receiver.arrived.setdefault(number, at)
                    receiver.changed.notify_all()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, count: int, timeout: float = 600) -> None:
        deadline = time.monotonic() + timeout
        with self.changed:
            while len(self.arrived) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise RuntimeError(f"only {len(self.arrived)} of {count} deliveries arrived")
                self.changed.wait(left)


def queue_backlog(db: str, url: str, count: int) -> None:
    from supportdesk.domain.context import SYSTEM
    from supportdesk.server.apply import apply_as
    from supportdesk.server.db import open_database
    from supportdesk.server.webhooks import add_endpoint, record_events

    database = open_database(db)
    with database.engine.connect() as connection, connection.begin():
        add_endpoint(connection, url, ["ticket.created"])
    for index in range(count):
        args = {"subject": f"Order {index}", "body": "Late.", "requester": {"value": f"c{index}@bench.test"}}
        apply_as(database, SYSTEM, "ticket.create", args, after_write=[record_events])
    database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backlog", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--postgres", action="store_true", help="Serve from PostgreSQL (SUPPORTDESK_TEST_PG_URL).")
    options = parser.parse_args()
    receiver = Receiver()
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        name = f"sd_hooks_{os.getpid()}"
        db = fresh_postgres(name) if options.postgres else str(tmp / "server.db")
        try:
            token = next(iter(make_team(db).values()))
            queue_backlog(db, receiver.url, options.backlog)
            with Server(db, tmp / "server.log") as server:
                started = time.monotonic()
                receiver.wait(options.backlog)
                first = min(receiver.arrived.values())
                last = max(receiver.arrived.values())
                per_second = options.backlog / max(last - first, 1e-9)
                print(
                    f"backlog: {options.backlog} deliveries in {last - first:.2f} s from the first "
                    f"({per_second:.0f}/s; {first - started:.2f} s from start to the first)"
                )
                latencies: list[float] = []
                headers = {"Authorization": f"Bearer {token}"}
                with httpx.Client(base_url=server.url, headers=headers, timeout=60) as client:
                    for index in range(options.rounds):
                        body = {
                            "subject": f"Payment failed {index}",
                            "body": "Declined.",
                            "requester": {"email": f"r{index}@bench.test"},
                            "group": "Tier 1",
                        }
                        answer = client.post("/v1/tickets", json=body, headers={"Idempotency-Key": str(uuid.uuid4())})
                        committed = time.monotonic()
                        assert answer.status_code == 201, answer.text
                        receiver.wait(options.backlog + index + 1)
                        latencies.append(receiver.arrived[str(answer.json()["number"])] - committed)
        finally:
            if options.postgres:
                drop_postgres(name)
    latencies.sort()
    p95 = latencies[int(len(latencies) * 0.95) - 1]
    print(
        f"latency commit → receiver over {len(latencies)} creates: p50 {statistics.median(latencies) * 1000:.1f} ms, "
        f"p95 {p95 * 1000:.1f} ms, max {latencies[-1] * 1000:.1f} ms"
    )


if __name__ == "__main__":
    main()
