"""What the console's SLA column costs per queue page: ``python bench/console_sla.py -w PATH``.

The console reads pages of 100 rows in a thread worker; with the SLA column each page read adds
``store.sla.page_sla`` for its 100 tickets. Drawing adds, per row, the state and the countdown
text (``tui.sla_text.sla_cell``), and the once-a-second countdown tick redoes that for the
visible rows only (no query). Measured here: a page read with and without the SLA lookup (first
and a deep page of "status<solved", and of the queue sorted by time to breach), the lookup alone,
the cells of a page, and one tick over 45 visible rows. Read-only: the workspace is not written.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from _timing import measure, summary
from supportdesk.store import reads
from supportdesk.store.sla import page_sla
from supportdesk.store.times import utcnow
from supportdesk.store.workspace import Workspace
from supportdesk.tui.queue_model import PAGE
from supportdesk.tui.sla_text import sla_cell

VISIBLE_ROWS = 45


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-w", "--workspace", type=Path, required=True)
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    workspace = Workspace.open(args.workspace, create=False)
    now = utcnow()
    with workspace.reading() as connection:
        tickets = connection.execute("SELECT count(*) FROM ticket").fetchone()[0]
        print(f"{tickets:,} tickets in {args.workspace}; pages of {PAGE} rows")

        def deep(plan: reads.QueuePlan, pages: int) -> tuple[object, ...] | None:
            cursor = None
            for _ in range(pages):
                cursor = reads.queue_page(connection, plan, after=cursor, limit=PAGE).next_cursor
            return cursor

        figures = []
        for label, plan in (
            ("status<solved", reads.plan_queue("status<solved")),
            ("status<solved sort:sla-asc", reads.plan_queue("status<solved", sort="sla-asc")),
        ):
            for where, after in (("page 1", None), ("page 101", deep(plan, 100))):
                ids = [row.id for row in reads.queue_page(connection, plan, after=after, limit=PAGE).rows]

                def page(plan: reads.QueuePlan = plan, after: object = after) -> None:
                    reads.queue_page(connection, plan, after=after, limit=PAGE)  # type: ignore[arg-type]

                def page_and_sla(plan: reads.QueuePlan = plan, after: object = after) -> None:
                    rows = reads.queue_page(connection, plan, after=after, limit=PAGE).rows  # type: ignore[arg-type]
                    page_sla(connection, [row.id for row in rows])

                figures += [
                    (f"{label}, {where}: page read without SLA", page),
                    (f"{label}, {where}: page read with SLA (the console's)", page_and_sla),
                    (f"{label}, {where}: page_sla alone ({len(ids)} rows)", lambda ids=ids: page_sla(connection, ids)),
                ]
        plan = reads.plan_queue("status<solved")
        ids = [row.id for row in reads.queue_page(connection, plan, limit=PAGE).rows]
        found = page_sla(connection, ids)
        with_policy = sum(1 for sla in found.values() if sla.has_policy)
        print(f"first page: {with_policy} of {len(ids)} tickets under a policy")

        def cells() -> None:
            for ticket_id in ids:
                sla_cell(found.get(ticket_id), now)

        def tick() -> None:
            shown = tuple(sla_cell(found.get(ticket_id), now)[0] for ticket_id in ids[:VISIBLE_ROWS])
            assert shown

        figures += [
            (f"SLA cells of a page ({len(ids)} rows: state and countdown text)", cells),
            (f"countdown tick over {VISIBLE_ROWS} visible rows (no query)", tick),
        ]
        for label, work in figures:
            print(f"{label:<72} {summary(measure(work, repeat=args.repeat))}")


if __name__ == "__main__":
    main()
