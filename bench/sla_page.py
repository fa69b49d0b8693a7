"""What the SLA column costs per queue page of 50 rows: ``python bench/sla_page.py -w PATH``.

The SLA lookup for the 50 tickets of a page (``store.sla.page_sla``) plus each row's state and
countdown; a first and a deep page of the queue sorted by time to breach; and the first page of
``sla:due<1h``, ``sla:breached`` and ``sla:paused`` queues. A plain queue page is measured too,
for comparison.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from _timing import measure, summary
from supportdesk.store import reads
from supportdesk.store.sla import page_sla
from supportdesk.store.times import utcnow
from supportdesk.store.workspace import Workspace


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-w", "--workspace", type=Path, required=True)
    parser.add_argument("--repeat", type=int, default=100)
    args = parser.parse_args()
    workspace = Workspace.open(args.workspace, create=False)
    now = utcnow()
    with workspace.reading() as connection:
        tickets = connection.execute("SELECT count(*) FROM ticket").fetchone()[0]
        print(f"{tickets:,} tickets in {args.workspace}")
        queue = reads.plan_queue("status<solved")
        ids = [row.id for row in reads.queue_page(connection, queue, limit=50).rows]

        def column() -> None:
            found = page_sla(connection, ids)
            for ticket_id in ids:
                found[ticket_id].state(now)
                found[ticket_id].seconds_left(now)

        by_breach = reads.plan_queue("status<solved", sort="sla-asc")
        cursor = None
        for _ in range(100):
            cursor = reads.queue_page(connection, by_breach, after=cursor, limit=50).next_cursor
            if cursor is None:
                break
        deep = cursor
        figures = [
            ("SLA column, page of 50 (lookup + state + countdown)", column),
            ("queue page 1, status<solved (no SLA)", lambda: reads.queue_page(connection, queue, limit=50)),
            ("queue page 1, status<solved sort:sla-asc", lambda: reads.queue_page(connection, by_breach, limit=50)),
            ("queue page 101, sort:sla-asc (keyset)", lambda: reads.queue_page(connection, by_breach, after=deep)),
        ]
        for query in ("status<solved sla:due<1h", "status<solved sla:breached", "sla:paused"):
            plan = reads.plan_queue(query)
            figures.append((f"queue page 1, {query}", lambda plan=plan: reads.queue_page(connection, plan, limit=50)))
        for label, work in figures:
            print(f"{label:<55} {summary(measure(work, repeat=args.repeat))}")


if __name__ == "__main__":
    main()
