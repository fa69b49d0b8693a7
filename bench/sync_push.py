"""Pushes per second on SQLite and on PostgreSQL, one mutation per push and 500 per push.

Usage: python bench/sync_push.py [--count 1000] [--postgres]   (PostgreSQL needs
SUPPORTDESK_TEST_PG_URL, see the README). Each mutation is an internal note on one of 50
tickets (a ticket's full-text document holds all its messages, so notes spread as in real use).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import httpx

from sync_harness import Server, fresh_postgres, make_team

TICKETS = 50


def run(db: str, tmp: Path, count: int) -> tuple[float, float]:
    tokens = make_team(db)
    token = next(iter(tokens.values()))
    with (
        Server(db, tmp / "server.log") as server,
        httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as client,
    ):
        creates = [
            {
                "id": n,
                "name": "ticket.create",
                "args": {"subject": f"Bench {n}", "body": "b", "requester": {"value": f"bench{n}@example.com"}},
            }
            for n in range(1, TICKETS + 1)
        ]
        body = {"client_id": "bench-setup", "schema_version": 1, "mutations": creates}
        tickets = [r["result"]["ticket_id"] for r in client.post("/v1/push", json=body).json()["results"]]
        started = time.perf_counter()
        for index in range(1, count + 1):
            args = {"ticket_id": tickets[index % TICKETS], "body": f"note {index}"}
            response = client.post(
                "/v1/push",
                json={
                    "client_id": "bench-single",
                    "schema_version": 1,
                    "mutations": [{"id": index, "name": "ticket.note", "args": args}],
                },
            )
            assert response.json()["results"][0]["ok"]
        single = count / (time.perf_counter() - started)
        started = time.perf_counter()
        for start in range(1, count + 1, 500):
            batch = [
                {"id": i, "name": "ticket.note", "args": {"ticket_id": tickets[i % TICKETS], "body": f"batched {i}"}}
                for i in range(start, min(start + 500, count + 1))
            ]
            response = client.post(
                "/v1/push", json={"client_id": "bench-batch1", "schema_version": 1, "mutations": batch}
            )
            assert all(r["ok"] for r in response.json()["results"])
        batched = count / (time.perf_counter() - started)
    return single, batched


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--postgres", action="store_true", help="Also measure PostgreSQL.")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        single, batched = run(str(tmp / "server.db"), tmp, options.count)
        print(f"SQLite:     {single:,.0f} pushes/s (1 mutation each), {batched:,.0f} mutations/s in pushes of 500")
        if options.postgres:
            single, batched = run(fresh_postgres("bench_push"), tmp, options.count)
            print(f"PostgreSQL: {single:,.0f} pushes/s (1 mutation each), {batched:,.0f} mutations/s in pushes of 500")


if __name__ == "__main__":
    main()
