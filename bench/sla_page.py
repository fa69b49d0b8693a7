"""What the SLA column costs per queue page of 50 rows, on a big workspace.

    .venv/bin/python bench/sla_page.py /path/to/workspace [--repeat 200]

Measures, each as the median of ``--repeat`` runs on a warm connection:
the SLA lookup for the 50 tickets of a page (``store.sla.page_sla``) plus working out each row's
state and countdown; a first and a deep page of the queue sorted by time to breach; and the first
page of ``sla:due<1h`` and ``sla:breached`` queues.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from supportdesk.store import reads
from supportdesk.store.sla import page_sla
from supportdesk.store.times import utcnow
from supportdesk.store.workspace import Workspace


def median_ms(work: Callable[[], object], repeat: int) -> float:
    work()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("workspace", type=Path)
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    workspace = Workspace.open(args.workspace, create=False)
    now = utcnow()
    with workspace.reading() as connection:
        tickets = connection.execute("SELECT count(*) FROM ticket").fetchone()[0]
        print(f"{tickets:,} tickets in {args.workspace}")
        queue = reads.plan_queue("status<solved")
        page = reads.queue_page(connection, queue, limit=50)
        ids = [row.id for row in page.rows]

        def column() -> None:
            found = page_sla(connection, ids)
            for ticket_id in ids:
                row = found[ticket_id]
                row.state(now)
                row.seconds_left(now)

        by_breach = reads.plan_queue("status<solved", sort="sla-asc")
        cursor = None
        for _ in range(100):
            deep = reads.queue_page(connection, by_breach, after=cursor, limit=50)
            cursor = deep.next_cursor
            if cursor is None:
                break
        figures = [
            ("SLA column for a page of 50 (lookup + state + countdown)", median_ms(column, args.repeat)),
            (
                "queue page 1, status<solved, updated-desc (no SLA)",
                median_ms(lambda: reads.queue_page(connection, queue, limit=50), args.repeat),
            ),
            (
                "queue page 1, status<solved, sort by time to breach",
                median_ms(lambda: reads.queue_page(connection, by_breach, limit=50), args.repeat),
            ),
            (
                "queue page 101, sort by time to breach (keyset)",
                median_ms(lambda: reads.queue_page(connection, by_breach, after=cursor, limit=50), args.repeat),
            ),
        ]
        for query in ("status<solved sla:due<1h", "status<solved sla:breached", "sla:paused"):
            plan = reads.plan_queue(query)
            figures.append(
                (
                    f"queue page 1, {query}",
                    median_ms(lambda plan=plan: reads.queue_page(connection, plan, limit=50), args.repeat),
                )
            )
    for label, ms in figures:
        print(f"{ms:8.3f} ms  {label}")


if __name__ == "__main__":
    main()
