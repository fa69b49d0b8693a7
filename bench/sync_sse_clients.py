"""200 concurrent SSE clients held by one server process, and how fast a poke reaches them all.

Usage: python bench/sync_sse_clients.py [--clients 200]
Opens the streams with one asyncio httpx client, pushes one mutation, and measures until every
stream has received its poke; prints the server's RSS while holding them.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from sync_harness import Server, team_server


async def hold(url: str, token: str, clients: int, server: Server) -> None:
    limits = httpx.Limits(max_connections=clients + 10)
    async with httpx.AsyncClient(
        base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60, limits=limits
    ) as http:
        ready = asyncio.Event()
        connected = 0
        arrivals: list[float] = []

        async def listen() -> None:
            nonlocal connected
            async with http.stream("GET", "/v1/events") as response:
                async for line in response.aiter_lines():
                    if line.startswith("event: hello"):
                        connected += 1
                        if connected == clients:
                            ready.set()
                    elif line.startswith("event: poke"):
                        arrivals.append(time.perf_counter())
                        return

        tasks = [asyncio.create_task(listen()) for _ in range(clients)]
        await asyncio.wait_for(ready.wait(), 60)
        rss = server.rss_mb()
        body = {
            "client_id": "sse-bench",
            "schema_version": 1,
            "mutations": [
                {
                    "id": 1,
                    "name": "ticket.create",
                    "args": {"subject": "Poke", "body": "all", "requester": {"value": "s@example.com"}},
                }
            ],
        }
        started = time.perf_counter()
        await http.post("/v1/push", json=body)
        await asyncio.wait_for(asyncio.gather(*tasks), 60)
    delays = sorted((t - started) * 1000 for t in arrivals)
    print(
        f"{clients} SSE clients held by one server process (RSS {rss:.0f} MB); a push reached all of them in "
        f"{delays[-1]:.0f} ms (median {statistics.median(delays):.0f} ms)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=200)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        with team_server(tmp) as (server, tokens):
            asyncio.run(hold(server.url, tokens[0], options.clients, server))


if __name__ == "__main__":
    main()
