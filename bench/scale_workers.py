"""Several server processes on one PostgreSQL database (issue 13): pushes per second with 1 and
2 workers, and how soon an agent on one process hears of a push made through another.

Usage: python bench/scale_workers.py [--clients 8] [--pushes 150] [--rounds 100]
(needs SUPPORTDESK_TEST_PG_URL, see the README). Throughput: ``--clients`` threads, each an agent
with its own token and client id, push ``--pushes`` single-note pushes as fast as answers come,
against ``serve --workers 1`` and then ``--workers 2`` on a fresh database. Latency: two servers
on two ports (as two hosts), an agent's event stream on the second; each round pushes a note
through the first and times push sent → poke (seq ≥ the push's) read on the second stream.
"""

from __future__ import annotations

import argparse
import queue
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from sync_harness import Server, drop_postgres, fresh_postgres, make_team


def _push(client: httpx.Client, client_id: str, mutation_id: int, name: str, args: dict[str, Any]) -> int:
    body = {"client_id": client_id, "schema_version": 1, "mutations": [{"id": mutation_id, "name": name, "args": args}]}
    result = client.post("/v1/push", json=body).json()["results"][0]
    assert result["ok"], result
    return int(result["seq"])


def _ticket(client: httpx.Client, client_id: str) -> str:
    args = {"subject": "Bench", "body": "b", "requester": {"value": f"{client_id}@example.com"}}
    body = {
        "client_id": client_id,
        "schema_version": 1,
        "mutations": [{"id": 1, "name": "ticket.create", "args": args}],
    }
    return str(client.post("/v1/push", json=body).json()["results"][0]["result"]["ticket_id"])


def throughput(workers: int, clients: int, pushes: int, tmp: Path) -> tuple[float, float]:
    """Pushes per second with ``workers`` processes; and the server's RSS (MB) at the end."""
    db = fresh_postgres(f"bench_workers_{workers}")
    try:
        tokens = list(make_team(db, clients).values())
        with Server(db, tmp / f"workers-{workers}.log", ("--workers", str(workers), "--no-triage")) as server:
            sessions = [
                httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {t}"}, timeout=120) for t in tokens
            ]
            tickets = [_ticket(session, f"bench-client-{n}") for n, session in enumerate(sessions)]
            start = threading.Barrier(clients + 1)

            def agent(n: int) -> None:
                start.wait()
                for index in range(pushes):
                    args = {"ticket_id": tickets[n], "body": f"note {index}"}
                    _push(sessions[n], f"bench-client-{n}", index + 2, "ticket.note", args)

            threads = [threading.Thread(target=agent, args=(n,)) for n in range(clients)]
            for thread in threads:
                thread.start()
            start.wait()
            began = time.perf_counter()
            for thread in threads:
                thread.join()
            rate = clients * pushes / (time.perf_counter() - began)
            rss = server.rss_mb()
            for session in sessions:
                session.close()
        return rate, rss
    finally:
        drop_postgres(f"bench_workers_{workers}")


def poke_latency(rounds: int, tmp: Path) -> list[float]:
    """Seconds from a push sent through one process to its poke read from another's stream."""
    from supportdesk.sync.client import ServerClient

    db = fresh_postgres("bench_cross_poke")
    try:
        writer_token, reader_token = list(make_team(db, 2).values())
        with (
            Server(db, tmp / "first.log", ("--no-triage",)) as first,
            Server(db, tmp / "second.log", ("--no-triage",)) as second,
        ):
            pokes: queue.Queue[tuple[float, int]] = queue.Queue()
            reader = ServerClient(second.url, reader_token)

            def listen() -> None:
                try:
                    for event, data in reader.events(read_timeout=30):
                        if event == "poke":
                            pokes.put((time.perf_counter(), int(data["seq"])))
                except Exception:  # closed at the end
                    return

            threading.Thread(target=listen, daemon=True).start()
            time.sleep(1.0)  # the stream is open (its hello is not a poke)
            writer = httpx.Client(base_url=first.url, headers={"Authorization": f"Bearer {writer_token}"}, timeout=60)
            ticket = _ticket(writer, "bench-writer")
            samples = []
            for index in range(rounds):
                while not pokes.empty():
                    pokes.get_nowait()
                sent = time.perf_counter()
                seq = _push(
                    writer, "bench-writer", index + 2, "ticket.note", {"ticket_id": ticket, "body": f"n{index}"}
                )
                while True:
                    arrived, poked = pokes.get(timeout=30)
                    if poked >= seq:
                        samples.append(arrived - sent)
                        break
            writer.close()
            reader.close()
        return samples
    finally:
        drop_postgres("bench_cross_poke")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--pushes", type=int, default=150, help="Pushes per client.")
    parser.add_argument("--rounds", type=int, default=100, help="Cross-process poke samples.")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        for workers in (1, 2):
            rate, rss = throughput(workers, options.clients, options.pushes, tmp)
            print(f"--workers {workers}: {rate:,.0f} pushes/s ({options.clients} clients), server RSS {rss:,.0f} MB")
        samples = sorted(poke_latency(options.rounds, tmp))
        p50 = statistics.median(samples)
        p95 = samples[int(len(samples) * 0.95) - 1]
        print(
            f"push through one process -> poke on another: p50 {p50 * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms, "
            f"max {samples[-1] * 1000:.1f} ms ({len(samples)} rounds)"
        )
        assert p95 < 1.0, "a poke took a second or more to cross processes"


if __name__ == "__main__":
    main()
