"""Queue pages and saved-view counts on a workspace: ``python bench/queue_reads.py -w PATH``.

First pages and deep keyset pages for the queries an agent runs all day, then the count of
every saved view — the numbers the console's sidebar and first frame depend on. With
``--as-agent`` the reads are made as the first agent (by email) of some groups, through the
viewer the console and the CLI apply (``store.viewer``): the cost of "who sees what".
"""

from __future__ import annotations

import argparse
from pathlib import Path

from _timing import measure, summary
from supportdesk.store import reads
from supportdesk.store.viewer import EVERYONE, Viewer, workspace_viewer
from supportdesk.store.workspace import Workspace, read_setting


def _agent_viewer(connection: object) -> tuple[str, Viewer]:
    """The first agent (by email) of some groups, as the workspace would read as them."""
    row = connection.execute(  # type: ignore[attr-defined]
        "SELECT a.id FROM agent a WHERE a.role = 'agent' "
        "AND EXISTS (SELECT 1 FROM agent_group g WHERE g.agent_id = a.id) ORDER BY a.email LIMIT 1"
    ).fetchone()
    agent = str(row[0])
    groups = frozenset(
        r[0]
        for r in connection.execute("SELECT group_id FROM agent_group WHERE agent_id = ?", (agent,))  # type: ignore[attr-defined]
    )
    return agent, Viewer(id=agent, sees_all=False, group_ids=groups)


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
    parser.add_argument("--as-agent", action="store_true", help="read as an agent of some groups")
    args = parser.parse_args()
    workspace = Workspace.open(args.workspace, create=False)
    with workspace.reading() as connection:
        me = read_setting(connection, "me")
        viewer = workspace_viewer(connection) if me else EVERYONE
        if args.as_agent:
            me, viewer = _agent_viewer(connection)
        print(f"reading as {'every ticket' if viewer.sees_all else f'an agent of {len(viewer.group_ids)} group(s)'}")
        print("queue page (50 rows):")
        for label, query, sort in QUERIES:
            plan = reads.plan_queue(query, me=me, sort=sort, viewer=viewer)
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
        total = measure(
            lambda: reads.view_counts(connection, views, me=me, viewer=viewer),
            repeat=max(3, args.repeat // 5),
            warmup=1,
        )
        print(f"  all {len(views)} views together {summary(total)}")
        for view in views:
            plan = reads.plan_queue(view.query, me=me, sort=view.sort, viewer=viewer)
            samples = measure(lambda p=plan: reads.queue_count(connection, p), repeat=5, warmup=1)
            print(f"  {view.name:32} {summary(samples)}")


if __name__ == "__main__":
    main()
