"""The message trigger of migration 0028 against 0027's, in turns: PostgreSQL CPU per INSERT.

Usage: python bench/pg_search_trigger_ab.py postgresql://…/db [--rounds 5] [--inserts 1000]

0028 (attack13) locks the ticket's search document before appending and probes
``ix_message_ticket_created`` for a later message; 0027 appended straight away. On a loaded
database at head: each round puts 0027's two functions in place, then 0028's (``CREATE OR
REPLACE``, inside the measuring transaction, rolled back with it), and times ``--inserts``
single-row message inserts into random tickets. The figure is the server process's CPU time
(``/proc/<backend pid>/stat``: needs the server on this host and a user who may read it) and
wall time per insert; medians per version.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import time
import uuid
from pathlib import Path

BODY = "Thanks for the quick help, the printer works again after the update. Kind regards, Alice"
MIGRATION = Path(__file__).resolve().parents[1] / "src/supportdesk/store/migrations/versions"


def _functions() -> dict[str, list[str]]:
    spec = importlib.util.spec_from_file_location("m0028", MIGRATION / "0028_attack13_search_races.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {"0027": [module.REFRESH_0027, module.ON_MESSAGE_0027], "0028": [module.REFRESH, module.ON_MESSAGE]}


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    import psycopg

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--inserts", type=int, default=1000)
    options = parser.parse_args()
    versions = _functions()
    figures: dict[str, list[tuple[float, float]]] = {name: [] for name in versions}
    with psycopg.connect(options.url) as connection:
        pid = connection.execute("SELECT pg_backend_pid()").fetchone()[0]
        query = "SELECT id FROM ticket ORDER BY random() LIMIT %s"
        tickets = [row[0] for row in connection.execute(query, (options.inserts,))]
        connection.rollback()
        for _ in range(options.rounds):
            for name, statements in versions.items():
                for statement in statements:
                    connection.execute(statement)
                cpu, wall = _cpu_seconds(pid), time.perf_counter()
                for ticket_id in tickets:
                    connection.execute(
                        "INSERT INTO message (id, ticket_id, channel, direction, public, author_kind, body, meta, "
                        "created_at) VALUES (%s, %s, 'email', 'inbound', true, 'customer', %s, '{}', now())",
                        (str(uuid.uuid4()), ticket_id, BODY),
                    )
                cpu, wall = _cpu_seconds(pid) - cpu, time.perf_counter() - wall
                connection.rollback()
                figures[name].append((1000 * cpu / len(tickets), 1000 * wall / len(tickets)))
    for name, rows in figures.items():
        cpu = statistics.median(r[0] for r in rows)
        wall = statistics.median(r[1] for r in rows)
        print(f"{name}: {cpu:.3f} ms CPU, {wall:.3f} ms wall per insert (median of {len(rows)})")
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
