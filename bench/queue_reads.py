"""Queue pages and saved-view counts on a workspace: ``python bench/queue_reads.py -w PATH``.

First pages and deep keyset pages for the queries an agent runs all day, then the count of
every saved view — the numbers the console's sidebar and first frame depend on.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from _timing import measure, summary
from supportdesk.store import reads
from supportdesk.store.workspace import Workspace, read_setting

QUERIES = (
    ("all, updated-desc", "", None),
    ("status<solved", "status<solved", None),
    ("assignee:me status<solved", "assignee:me status<solved", None),
    ("tag:refund", "tag:refund", None),
    ("priority>=high status:open", "priority>=high status:open", None),
    ("created>30d sort:created-asc", "created>30d", "created-asc"),
    ("group:billing sort:priority-desc", "group:billing", "priority-desc"),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-w", "--workspace", type=Path, required=True)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    workspace = Workspace.open(args.workspace, create=False)
    with workspace.reading() as connection:
        me = read_setting(connection, "me")
        print("queue page (50 rows):")
        for label, query, sort in QUERIES:
            plan = reads.plan_queue(query, me=me, sort=sort)
            first = reads.queue_page(connection, plan, limit=50)
            samples = measure(lambda p=plan: reads.queue_page(connection, p, limit=50), repeat=args.repeat)
            print(f"  first page  {label:36} {summary(samples)}")
            cursor = first.rows[-1].cursor if first.rows else None
            # a deep page: walk 200 pages in, then time the next one
            for _ in range(200):
                if cursor is None:
                    break
                page = reads.queue_page(connection, plan, after=cursor, limit=50)
                cursor = page.next_cursor
            if cursor is not None:
                samples = measure(
                    lambda p=plan, c=cursor: reads.queue_page(connection, p, after=c, limit=50), repeat=args.repeat
                )
                print(f"  page 201    {label:36} {summary(samples)}")
        views = reads.list_views(connection, me)
        print("saved-view counts:")
        total = measure(lambda: reads.view_counts(connection, views, me=me), repeat=max(3, args.repeat // 5), warmup=1)
        print(f"  all {len(views)} views together {summary(total)}")
        for view in views:
            plan = reads.plan_queue(view.query, me=me, sort=view.sort)
            samples = measure(lambda p=plan: reads.queue_count(connection, p), repeat=5, warmup=1)
            print(f"  {view.name:32} {summary(samples)}")


if __name__ == "__main__":
    main()
