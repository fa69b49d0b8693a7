"""What the report rollups' triggers add to a write: ``python bench/report_write.py PATH``.

On a workspace built by ``bench/report_data.py`` (or any), for a sample of tickets it times, in
CPU microseconds per row, writes that the rollups of :mod:`supportdesk.store.rollup_activity`
watch — a handle-time record, a logged-time entry, an answered survey, a reassignment to another
group (``ticket_timing``) and a change of the SLA countdown they do not watch — each once with the
triggers installed and once with them dropped (inside the same transaction), alternating, every
run rolled back. ``report_day``'s triggers stay installed in both, so the difference is what the
new triggers cost.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from supportdesk.store import rollup_activity


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("path", type=Path)
    parser.add_argument("-n", "--rows", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    connection = sqlite3.connect(args.path / "supportdesk.db", isolation_level=None)
    rng = random.Random(7)
    tickets = [
        tuple(row)
        for row in connection.execute(
            "SELECT ticket_id, group_id, created_at FROM ticket_timing WHERE ticket_id IN "
            "(SELECT ticket_id FROM ticket_timing ORDER BY random() LIMIT ?)",
            (args.rows,),
        )
    ]
    groups = [row[0] for row in connection.execute("SELECT id FROM groups")]
    agents = [row[0] for row in connection.execute("SELECT id FROM agent")]

    def handle() -> None:
        connection.executemany(
            "INSERT INTO handle_time (id, ticket_id, agent_id, seconds, at) VALUES (?, ?, ?, ?, ?)",
            [(str(uuid.uuid4()), t, rng.choice(agents), 120, created) for t, _g, created in tickets],
        )

    def logged() -> None:
        connection.executemany(
            "INSERT INTO time_entry (id, ticket_id, agent_id, seconds, note, at, updated_at) "
            "VALUES (?, ?, ?, ?, '', ?, ?)",
            [(str(uuid.uuid4()), t, rng.choice(agents), 900, created, created) for t, _g, created in tickets],
        )

    def answered() -> None:
        connection.executemany(
            "INSERT INTO survey (id, ticket_id, issued_at, answered_at, csat, comment, ces, nps) "
            "VALUES (?, ?, ?, ?, 'good', '', 3, 9)",
            [(str(uuid.uuid4()), t, created, created) for t, _g, created in tickets],
        )

    def reassigned() -> None:
        connection.executemany(
            "UPDATE ticket_timing SET group_id = ? WHERE ticket_id = ?",
            [(next(g for g in groups if g != group), t) for t, group, _c in tickets],
        )

    def countdown() -> None:
        connection.executemany(
            "UPDATE ticket_timing SET due_at = '2030-01-01 00:00:00.000000' WHERE ticket_id = ?",
            [(t,) for t, _g, _c in tickets],
        )

    def timed(write: Callable[[], None], triggers: bool) -> float:
        connection.execute("BEGIN")
        try:
            if not triggers:
                rollup_activity.execute_all(connection, rollup_activity.drop_trigger_statements("sqlite"))
            began = time.process_time()
            write()
            return (time.process_time() - began) / len(tickets) * 1e6
        finally:
            connection.execute("ROLLBACK")

    print(f"{len(tickets):,} rows a run, CPU µs per row, median of {args.repeat} (alternating):")
    for name, write in (
        ("handle_time insert", handle),
        ("time_entry insert", logged),
        ("survey insert (answered)", answered),
        ("ticket_timing: group changed", reassigned),
        ("ticket_timing: countdown only", countdown),
    ):
        timed(write, True)  # warm the pages
        with_them, without = [], []
        for _ in range(args.repeat):
            with_them.append(timed(write, True))
            without.append(timed(write, False))
        print(
            f"  {name:<32} with the new triggers {statistics.median(with_them):7.1f}   "
            f"without {statistics.median(without):7.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
