"""Concurrent SSE clients held by a server, its memory per open stream, and how fast one poke
reaches them all.

Usage: python bench/sync_sse_clients.py [--clients 1000] [--postgres] [--workers 2]
Opens the streams with one asyncio httpx client (every stream its own connection), pushes one
mutation everyone may see, and measures until every stream has received its poke. The server's
resident memory (its worker processes included) is read after a warm-up (a pull, a push and a
stream opened and closed, so every module the streams need is loaded) and again while all the
streams are open: the difference over the number of streams is the memory one open stream costs.
With ``--postgres`` (needs ``SUPPORTDESK_TEST_PG_URL``) the server runs on a fresh PostgreSQL
database; ``--workers`` above 1 is PostgreSQL only.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from sync_harness import Server, drop_postgres, fresh_postgres, make_team

POKE_ALL = {"subject": "Poke", "body": "all", "requester": {"value": "s@example.com"}}


def _push_body(mutation_id: int) -> dict[str, Any]:
    return {
        "client_id": "sse-bench-client",
        "schema_version": 1,
        "mutations": [{"id": mutation_id, "name": "ticket.create", "args": POKE_ALL}],
    }


async def hold(url: str, tokens: list[str], clients: int, server: Server) -> None:
    limits = httpx.Limits(max_connections=clients + 10, max_keepalive_connections=20)
    timeout = httpx.Timeout(120, connect=120, pool=120)
    headers = {"Authorization": f"Bearer {tokens[0]}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=timeout, limits=limits) as http:
        # warm-up: every module a stream, a pull and a push use is loaded in every worker
        for _ in range(20):
            await http.get("/v1/pull", params={"cursor": 0, "limit": 1})
        await http.post("/v1/push", json=_push_body(1))
        for _ in range(4):
            async with http.stream("GET", "/v1/events") as response:
                async for line in response.aiter_lines():
                    if line.startswith("event: hello"):
                        break
        await asyncio.sleep(1.0)
        before = server.rss_mb()

        ready = asyncio.Event()
        connected = 0
        arrivals: list[float] = []

        async def listen(token: str) -> None:
            nonlocal connected
            async with http.stream("GET", "/v1/events", headers={"Authorization": f"Bearer {token}"}) as response:
                async for line in response.aiter_lines():
                    if line.startswith("event: hello"):
                        connected += 1
                        if connected == clients:
                            ready.set()
                    elif line.startswith("event: poke") and ready.is_set():  # no write but ours since
                        arrivals.append(time.perf_counter())
                        return

        started_open = time.perf_counter()
        tasks = [asyncio.create_task(listen(tokens[index % len(tokens)])) for index in range(clients)]
        await asyncio.wait_for(ready.wait(), 600)
        opened = time.perf_counter() - started_open
        await asyncio.sleep(2.0)
        held = server.rss_mb()
        started = time.perf_counter()
        await http.post("/v1/push", json=_push_body(2))
        await asyncio.wait_for(asyncio.gather(*tasks), 600)
    delays = sorted((t - started) * 1000 for t in arrivals)
    per_stream_kb = (held - before) * 1024 / clients
    print(
        f"{clients} SSE streams opened in {opened:.1f} s; server RSS {before:.0f} MB before, "
        f"{held:.0f} MB holding them "
        f"= {per_stream_kb:.1f} KB per open stream; one push reached all of them in {delays[-1]:.0f} ms "
        f"(median {statistics.median(delays):.0f} ms, p95 {delays[int(len(delays) * 0.95) - 1]:.0f} ms)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--postgres", action="store_true", help="serve from a fresh PostgreSQL database")
    parser.add_argument("--workers", type=int, default=1)
    options = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < options.clients * 2 + 100:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, options.clients * 2 + 100), hard))
    extra = ("--streams-per-token", "0", "--workers", str(options.workers), "--keepalive", "15")
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        db = fresh_postgres("bench_sse") if options.postgres else str(tmp / "server.db")
        try:
            tokens = list(make_team(db, 20).values())
            with Server(db, tmp / "server.log", extra) as server:
                asyncio.run(hold(server.url, tokens, options.clients, server))
        finally:
            if options.postgres:
                drop_postgres("bench_sse")


if __name__ == "__main__":
    main()
