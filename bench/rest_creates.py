"""REST creates per second with an Idempotency-Key on each, and the cost of a retried key.

Usage: python bench/rest_creates.py [--creates 1000] [--clients 8] [--postgres] [--no-triage] [--requesters N]

``--clients`` threads (each with its own keep-alive connection and agent token) POST
``/v1/tickets`` with a fresh key per ticket until ``--creates`` tickets exist; then every key is
sent again once, and the replays per second are measured too (a replay answers the stored
response without writing). The server runs as ``supportdesk serve`` on 127.0.0.1; each client
sends one create before the clock starts (the first request of a process builds FastAPI's
routes).

Besides rates and latencies it prints the **server's CPU time per request** (user + system of the
``serve`` process, from ``/proc``, triage thread included): on a machine shared with other work
the rate says more about the neighbours than about the code, the CPU per request much less.
``--no-triage`` serves with ``--no-triage`` (new tickets are then not triaged in the background).
``--requesters N`` opens the tickets for N customers in turn (known after their first ticket, as
an integration's are) instead of a new customer for every ticket (the default).
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


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(url: str, tokens: list[str], keys: list[str], clients: int, requesters: int = 0) -> tuple[float, list[float]]:
    """Send one create per key from ``clients`` threads; ``(seconds, latencies)``."""
    latencies: list[float] = []
    lock = threading.Lock()
    shares = [keys[index::clients] for index in range(clients)]

    def worker(index: int) -> None:
        token = tokens[index % len(tokens)]
        own: list[float] = []
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
            for number, key in enumerate(shares[index]):
                who = f"customer{(number * clients + index) % requesters}" if requesters else key[:8]
                body = {
                    "subject": f"Payment failed for order {key[:8]}",
                    "body": "The card was declined.",
                    "requester": {"email": f"{who}@bench.test"},
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
    parser.add_argument("--no-triage", action="store_true", help="Serve with --no-triage.")
    parser.add_argument("--requesters", type=int, default=0, help="N customers in turn (0: a new one per ticket).")
    options = parser.parse_args()
    extra = ("--no-triage",) if options.no_triage else ()
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        name = f"sd_rest_{os.getpid()}"
        db = fresh_postgres(name) if options.postgres else str(tmp / "server.db")
        tokens = list(make_team(db, agents=options.clients).values())
        keys = [str(uuid.uuid4()) for _ in range(options.creates)]
        warm_up = [str(uuid.uuid4()) for _ in range(options.clients)]
        try:
            with Server(db, tmp / "server.log", extra) as server:
                assert server.process is not None
                pid = server.process.pid
                run(server.url, tokens, warm_up, options.clients, options.requesters)
                cpu = cpu_seconds(pid)
                created, latencies = run(server.url, tokens, keys, options.clients, options.requesters)
                # what the create left behind (triage of each new ticket) belongs to the create
                _settle(pid)
                create_cpu, cpu = cpu_seconds(pid) - cpu, cpu_seconds(pid)
                replayed, replay_latencies = run(server.url, tokens, keys, options.clients, options.requesters)
                replay_cpu = cpu_seconds(pid) - cpu
        finally:
            if options.postgres:
                drop_postgres(name)
    who = f"{options.requesters} requesters in turn" if options.requesters else "a new requester each"
    print(f"serve {' '.join(extra) or '(defaults)'} on {'PostgreSQL' if options.postgres else 'SQLite'}, {who}")
    for label, seconds, times, cpu in (
        ("creates", created, latencies, create_cpu),
        ("replays", replayed, replay_latencies, replay_cpu),
    ):
        times.sort()
        print(
            f"{label}: {len(times) / seconds:.0f}/s over {len(times)} with {options.clients} clients; "
            f"p50 {statistics.median(times) * 1000:.1f} ms, p95 {times[int(len(times) * 0.95)] * 1000:.1f} ms; "
            f"server CPU {cpu / len(times) * 1000:.1f} ms per request"
        )


def _settle(pid: int, quiet: float = 1.0, limit: float = 120.0) -> None:
    """Wait until the server used (almost) no CPU for ``quiet`` seconds: its background work
    for the creates (triage, webhooks) is done."""
    deadline = time.monotonic() + limit
    before = cpu_seconds(pid)
    while time.monotonic() < deadline:
        time.sleep(quiet)
        now = cpu_seconds(pid)
        if now - before < 0.05 * quiet:
            return
        before = now


if __name__ == "__main__":
    main()
