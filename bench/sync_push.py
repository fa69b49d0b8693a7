"""Pushes per second on SQLite and on PostgreSQL, one mutation per push and 500 per push.

Usage: python bench/sync_push.py [--count 1000] [--postgres] [--sla]   (PostgreSQL needs
SUPPORTDESK_TEST_PG_URL, see the README). Each mutation is an internal note on one of 50
tickets (a ticket's full-text document holds all its messages, so notes spread as in real use).
With --sla the server has an SLA policy on business hours and three routing rules, and each
mutation is a public reply instead, which rewrites its ticket's clocks (issue #7's write hook).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from pg_backends import backend_cpu_seconds
from sync_harness import Server, drop_postgres, fresh_postgres, make_team

TICKETS = 50


RULES = [
    {
        "name": f"Rule {n}",
        "when": ["created", "updated"],
        "conditions": {"words": [f"word{n}"]},
        "actions": [{"add_tags": [f"t{n}"]}],
    }
    for n in range(3)
]


def add_service_levels(db: str) -> None:
    """A business-hours policy for every ticket the benchmark makes, and rules that never match."""
    from supportdesk.domain.context import SYSTEM
    from supportdesk.server.apply import apply_as
    from supportdesk.server.db import open_database

    database = open_database(db)
    try:
        hours = {day: [["08:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
        calendar = {"name": "Office", "timezone": "Europe/London", "hours": hours, "holidays": ["2026-12-25"]}
        calendar_id = apply_as(database, SYSTEM, "sla.calendar.create", calendar)[0]["calendar_id"]
        targets = {"first_reply_minutes": 60, "next_reply_minutes": 120, "resolution_minutes": 2400}
        policy = {"name": "Normal", "priority": "normal", "calendar_id": calendar_id, **targets}
        apply_as(database, SYSTEM, "sla.policy.create", policy)
        for rule in RULES:
            apply_as(database, SYSTEM, "rule.create", {"definition": rule})
    finally:
        database.dispose()


def run(db: str, tmp: Path, count: int, sla: bool = False) -> tuple[float, float, float, float, str]:
    """Single-mutation pushes/s and batched mutations/s, each with the server's CPU ms a mutation;
    and a line on the single pushes' wall times (and PostgreSQL's CPU a push)."""
    tokens = make_team(db)
    if sla:
        add_service_levels(db)
    name = "ticket.reply" if sla else "ticket.note"
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
        postgres = db.startswith("postgresql")
        pg_cpu = backend_cpu_seconds(db) if postgres else 0.0
        cpu = server.cpu_seconds()
        started = time.perf_counter()
        walls = []
        for index in range(1, count + 1):
            sent = time.perf_counter()
            args = {"ticket_id": tickets[index % TICKETS], "body": f"note {index}"}
            response = client.post(
                "/v1/push",
                json={
                    "client_id": "bench-single",
                    "schema_version": 1,
                    "mutations": [{"id": index, "name": name, "args": args}],
                },
            )
            assert response.json()["results"][0]["ok"]
            walls.append(time.perf_counter() - sent)
        single = count / (time.perf_counter() - started)
        single_cpu = (server.cpu_seconds() - cpu) / count * 1000
        detail = f"wall a push: median {statistics.median(walls) * 1000:.2f} ms, max {max(walls) * 1000:.0f} ms"
        if postgres:
            detail += f"; PostgreSQL backends' CPU {(backend_cpu_seconds(db) - pg_cpu) / count * 1000:.2f} ms a push"
        cpu = server.cpu_seconds()
        started = time.perf_counter()
        for start in range(1, count + 1, 500):
            batch = [
                {"id": i, "name": name, "args": {"ticket_id": tickets[i % TICKETS], "body": f"batched {i}"}}
                for i in range(start, min(start + 500, count + 1))
            ]
            response = client.post(
                "/v1/push", json={"client_id": "bench-batch1", "schema_version": 1, "mutations": batch}
            )
            assert all(r["ok"] for r in response.json()["results"])
        batched = count / (time.perf_counter() - started)
        batched_cpu = (server.cpu_seconds() - cpu) / count * 1000
    return single, single_cpu, batched, batched_cpu, detail


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--postgres", action="store_true", help="Also measure PostgreSQL.")
    parser.add_argument("--sla", action="store_true", help="SLA policy and rules on; push public replies.")
    options = parser.parse_args()
    print(f"load average before: {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        targets = [("SQLite", str(tmp / "server.db"))]
        pg_name = f"bench_push_{os.getpid()}"  # several runs may share the cluster
        if options.postgres:
            targets.append(("PostgreSQL", fresh_postgres(pg_name)))
        try:
            for label, db in targets:
                single, single_cpu, batched, batched_cpu, detail = run(db, tmp, options.count, options.sla)
                print(
                    f"{label + ':':11} {single:,.0f} pushes/s (1 mutation each, server CPU {single_cpu:.2f} ms a "
                    f"push), {batched:,.0f} mutations/s in pushes of 500 ({batched_cpu:.2f} ms a mutation)\n"
                    f"{'':12}{detail}"
                )
        finally:
            if options.postgres:
                drop_postgres(pg_name)
        print(f"load average after: {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")


if __name__ == "__main__":
    main()
