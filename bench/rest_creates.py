"""REST creates per second with an Idempotency-Key on each, and the cost of a retried key.

Usage: python bench/rest_creates.py [--creates 1000] [--clients 8] [--postgres]

``--clients`` threads (each with its own keep-alive connection and agent token) POST
``/v1/tickets`` with a fresh key per ticket until ``--creates`` tickets exist; then every key is
sent again once, and the replays per second are measured too (a replay answers the stored
response without writing). The server runs as ``supportdesk serve`` on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx

from sync_harness import Server, drop_postgres, fresh_postgres, make_team


def run(url: str, tokens: list[str], keys: list[str], clients: int) -> tuple[float, list[float]]:
    """Send one create per key from ``clients`` threads; ``(seconds, latencies)``."""
    latencies: list[float] = []
    lock = threading.Lock()
    shares = [keys[index::clients] for index in range(clients)]

    def worker(index: int) -> None:
        token = tokens[index % len(tokens)]
        own: list[float] = []
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
            for key in shares[index]:
                body = {
                    "subject": f"Payment failed for order {key[:8]}",
                    "body": "The card was declined.",
                    "requester": {"email": f"{key[:8]}@bench.test"},
                    "group": "Tier 1",
                }
                started = time.perf_counter()
                answer = client.post("/v1/tickets", json=body, headers={"Idempotency-Key": key})
                own.append(time.perf_counter() - started)
                assert answer.status_code == 201, answer.text
        with lock:
            latencies.extend(own)

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--creates", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--postgres", action="store_true", help="Serve from PostgreSQL (SUPPORTDESK_TEST_PG_URL).")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        name = f"sd_rest_{os.getpid()}"
        db = fresh_postgres(name) if options.postgres else str(tmp / "server.db")
        tokens = list(make_team(db, agents=options.clients).values())
        keys = [str(uuid.uuid4()) for _ in range(options.creates)]
        try:
            with Server(db, tmp / "server.log") as server:
                created, latencies = run(server.url, tokens, keys, options.clients)
                replayed, replay_latencies = run(server.url, tokens, keys, options.clients)
        finally:
            if options.postgres:
                drop_postgres(name)
    for label, seconds, times in (("creates", created, latencies), ("replays", replayed, replay_latencies)):
        times.sort()
        print(
            f"{label}: {len(times) / seconds:.0f}/s over {len(times)} with {options.clients} clients; "
            f"p50 {statistics.median(times) * 1000:.1f} ms, p95 {times[int(len(times) * 0.95)] * 1000:.1f} ms"
        )


if __name__ == "__main__":
    main()
