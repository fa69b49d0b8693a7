"""CPU per statement: SQLAlchemy's ``Connection.execute`` against the driver's cursor
(:mod:`supportdesk.store.prepared`), for the statements a pushed note runs (issue 19).

Usage: python bench/statement_path.py [--postgres] [--statements 3000] [--rounds 5]

In one process and one transaction per round, the two paths take turns on the same three
statements of :mod:`supportdesk.domain.tx` — a ticket read by key, an ``audit_event`` insert,
``UPDATE ticket SET updated_at`` — so the machine's load weighs on both alike. Prints the CPU
microseconds per statement of each path, each round, and the medians.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sync_harness import drop_postgres, fresh_postgres


def measure(db: str, statements: int, rounds: int) -> None:
    from sqlalchemy import insert
    from sqlalchemy.engine import Connection

    from supportdesk.domain.tx import _insert_into, _select_by_key, _update_by_key, table
    from supportdesk.server.db import open_database
    from supportdesk.store import prepared

    database = open_database(db)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    ticket = {
        "id": "t-1", "number": 1, "subject": "Bench", "status": "new", "priority": "normal",
        "type": "question", "channel": "web", "requester_id": "c-1", "fields": {}, "created_at": now,
        "updated_at": now,
    }  # fmt: skip
    with database.engine.begin() as connection:
        connection.execute(insert(table("customer")), {"id": "c-1", "name": "C", "created_at": now, "updated_at": now})
        connection.execute(insert(table("ticket")), ticket)
    read, write, touch = (
        _select_by_key("ticket"),
        _insert_into("audit_event"),
        _update_by_key("ticket", ("updated_at",)),
    )
    audit = {
        "at": now, "actor_id": None, "mutation": "bench", "mutation_ref": "b:1", "entity": "ticket",
        "entity_id": "t-1", "field": "message.created", "before": None, "after": "m-1", "source": None,
    }  # fmt: skip

    def by_sqlalchemy(connection: Connection) -> None:
        dict(connection.execute(read, {"pk_id": "t-1"}).mappings().first() or {})
        connection.execute(write, audit)
        connection.execute(touch, {"pk_id": "t-1", "v_updated_at": now})

    def by_driver(connection: Connection) -> None:
        prepared.first(connection, read, {"pk_id": "t-1"})
        prepared.execute(connection, write, audit)
        prepared.execute(connection, touch, {"pk_id": "t-1", "v_updated_at": now})

    paths: dict[str, Callable[[Connection], None]] = {"sqlalchemy": by_sqlalchemy, "driver": by_driver}
    figures: dict[str, list[float]] = {name: [] for name in paths}
    for _round in range(rounds):
        for name, path in paths.items():
            with database.engine.begin() as connection:
                path(connection)  # begun, warm
                cpu = time.process_time()
                for _ in range(statements // 3):
                    path(connection)
                figures[name].append((time.process_time() - cpu) / (statements // 3 * 3) * 1e6)
                connection.rollback()
        print("  ".join(f"{name} {values[-1]:5.1f} µs" for name, values in figures.items()))
    medians = {name: statistics.median(values) for name, values in figures.items()}
    print(
        f"{database.dialect}: median CPU per statement: SQLAlchemy {medians['sqlalchemy']:.1f} µs, "
        f"driver's cursor {medians['driver']:.1f} µs ({medians['sqlalchemy'] / medians['driver']:.1f}×)"
    )
    database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL (SUPPORTDESK_TEST_PG_URL) not SQLite.")
    parser.add_argument("--statements", type=int, default=3000, help="Statements per path per round.")
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args()
    if options.postgres:
        try:
            measure(fresh_postgres("bench_statement_path"), options.statements, options.rounds)
        finally:
            drop_postgres("bench_statement_path")
        return
    with tempfile.TemporaryDirectory() as folder:
        measure(str(Path(folder) / "server.db"), options.statements, options.rounds)


if __name__ == "__main__":
    main()
