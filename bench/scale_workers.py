"""Several server processes on one PostgreSQL database (issue 13): mutations per second with 1
and 2 workers, the server's CPU per mutation, and how soon an agent on one process hears of a
push made through another.

Usage: python bench/scale_workers.py [--clients 100] [--pushes 20] [--batch-max 10] [--rounds 100]
(needs SUPPORTDESK_TEST_PG_URL, see the README). Throughput: ``--clients`` threads, each an agent
with its own token, client id and tickets, send ``--pushes`` pushes as fast as answers come, each
of 1 to ``--batch-max`` mutations (a seeded mix of what an agent does: notes, public replies,
tags, priority and status changes; ``--batch-max 1``: one note per push), against
``serve --workers 1`` and then ``--workers 2`` on a fresh database. Each figure comes with the
CPU the server processes used per mutation (from /proc; the same on a quiet or a busy machine,
PostgreSQL's own processes not counted). Latency: two servers on two ports (as two hosts), an
agent's event stream on the second; each round pushes a note through the first and times push
sent → poke (seq ≥ the push's) read on the second stream. ``--rounds 0`` skips it.
"""

from __future__ import annotations

import argparse
import os
import queue
import random
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from pg_backends import backend_cpu_seconds
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


def _mutations(rng: random.Random, ticket: str, first: int, count: int) -> list[dict[str, Any]]:
    """``count`` mutations an agent might push together on one ticket, ids from ``first``."""
    mutations = []
    for offset in range(count):
        kind = rng.random()
        if count == 1 or kind < 0.4:
            name, args = "ticket.note", {"ticket_id": ticket, "body": f"note {first + offset}"}
        elif kind < 0.6:
            name, args = "ticket.reply", {"ticket_id": ticket, "body": f"reply {first + offset}"}
        elif kind < 0.8:
            name, args = "ticket.tag", {"ticket_id": ticket, "tags": [f"tag{rng.randrange(20)}"]}
        elif kind < 0.9:
            name, args = "ticket.set_priority", {"ticket_id": ticket, "priority": rng.choice(PRIORITIES)}
        else:
            name, args = "ticket.set_status", {"ticket_id": ticket, "status": rng.choice(("open", "pending"))}
        mutations.append({"id": first + offset, "name": name, "args": args})
    return mutations


PRIORITIES = ("low", "normal", "high", "urgent")


def throughput(
    workers: int, clients: int, pushes: int, batch_max: int, tmp: Path
) -> tuple[float, float, float, float, float, float]:
    """Mutations per second and pushes per second with ``workers`` processes; the server's CPU
    milliseconds per mutation; its RSS (MB) at the end; the CPU milliseconds per mutation of
    the PostgreSQL backends it kept connected (:mod:`pg_backends`: a lower bound); and the
    clients' own CPU milliseconds per push (this process: on a machine of two cores the clients
    compete with the server and PostgreSQL for them)."""
    name = f"bench_workers_{workers}_{os.getpid()}"  # several runs may share the cluster
    db = fresh_postgres(name)
    try:
        tokens = list(make_team(db, clients).values())
        with Server(db, tmp / f"workers-{workers}.log", ("--workers", str(workers), "--no-triage")) as server:
            sessions = [
                httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {t}"}, timeout=300) for t in tokens
            ]
            tickets = [_ticket(session, f"bench-client-{n}") for n, session in enumerate(sessions)]
            start = threading.Barrier(clients + 1)
            counts = [0] * clients

            def agent(n: int) -> None:
                rng = random.Random(n)
                next_id = 2
                start.wait()
                for _push in range(pushes):
                    size = rng.randint(1, batch_max)
                    body = {
                        "client_id": f"bench-client-{n}",
                        "schema_version": 1,
                        "mutations": _mutations(rng, tickets[n], next_id, size),
                    }
                    results = sessions[n].post("/v1/push", json=body).json()["results"]
                    assert all(r["ok"] for r in results), results
                    next_id += size
                    counts[n] += size

            threads = [threading.Thread(target=agent, args=(n,)) for n in range(clients)]
            for thread in threads:
                thread.start()
            start.wait()
            pg_cpu = backend_cpu_seconds(db)
            cpu = server.cpu_seconds()
            mine = time.process_time()
            began = time.perf_counter()
            for thread in threads:
                thread.join()
            elapsed = time.perf_counter() - began
            mine = time.process_time() - mine
            cpu = server.cpu_seconds() - cpu
            pg_cpu = backend_cpu_seconds(db) - pg_cpu
            rss = server.rss_mb()
            for session in sessions:
                session.close()
        mutations = sum(counts)
        per_mutation = 1000 / mutations
        client_ms = mine * 1000 / (clients * pushes)
        rates = mutations / elapsed, clients * pushes / elapsed
        return *rates, cpu * per_mutation, rss, pg_cpu * per_mutation, client_ms
    finally:
        drop_postgres(name)


def poke_latency(rounds: int, tmp: Path) -> list[float]:
    """Seconds from a push sent through one process to its poke read from another's stream."""
    from supportdesk.sync.client import ServerClient

    name = f"bench_cross_poke_{os.getpid()}"
    db = fresh_postgres(name)
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
        drop_postgres(name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--pushes", type=int, default=20, help="Pushes per client.")
    parser.add_argument("--batch-max", type=int, default=10, help="Mutations per push: 1 to this many.")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="Worker counts to measure.")
    parser.add_argument("--rounds", type=int, default=100, help="Cross-process poke samples (0: none).")
    options = parser.parse_args()
    print(f"load average before: {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        for workers in options.workers:
            rate, pushes, cpu, rss, pg_cpu, client_ms = throughput(
                workers, options.clients, options.pushes, options.batch_max, tmp
            )
            load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
            print(
                f"--workers {workers}: {rate:,.0f} mutations/s in {pushes:,.0f} pushes/s "
                f"({options.clients} clients, 1-{options.batch_max} a push), server CPU {cpu:.2f} ms a mutation "
                f"(PostgreSQL backends ≥ {pg_cpu:.2f} ms; the clients {client_ms:.2f} ms a push), "
                f"RSS {rss:,.0f} MB; load average {load}"
            )
        if options.rounds:
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
