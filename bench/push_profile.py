"""Where a pushed mutation's server time goes: CPU ms and SQL statements per mutation, in process.

Usage: python bench/push_profile.py [--postgres] [--pushes 300] [--batch 1] [--sla] [--profile N]

Runs the push route's own function (:func:`supportdesk.server.apply.apply_push`, with the app's
after-write hooks) on a fresh database, without HTTP: the figure is the server's share of a
push, measured as this process's CPU time (``time.process_time``, independent of how loaded the
machine is) and its wall time. Statements are counted with SQLAlchemy's
``before_cursor_execute`` event and, for those run on the driver's cursor directly,
:func:`supportdesk.store.prepared.count_statements`; ``--profile N`` prints cProfile's top N functions by
cumulative time. Each mutation is an internal note (``--sla``: a public reply under an SLA
policy and three routing rules, which rewrites the ticket's clocks) on one of 50 tickets.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import pstats
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from sync_harness import drop_postgres, fresh_postgres, make_team
from sync_push import TICKETS, add_service_levels


def measure(db: str, pushes: int, batch: int, sla: bool, profile: int) -> None:
    from sqlalchemy import event

    from supportdesk.protocol import MutationIn
    from supportdesk.server.app import create_app
    from supportdesk.server.apply import apply_push
    from supportdesk.server.db import open_database
    from supportdesk.server.tokens import load_actor

    make_team(db)
    if sla:
        add_service_levels(db)
    database = open_database(db)
    state = create_app(database).state.server
    # as in a running server, whose pooled read connections stay open: a SQLite write
    # connection closing as the last one would fold the write-ahead log back every time
    reader = database.read_engine.connect()
    reader.exec_driver_sql("SELECT 1").all()
    with database.engine.connect() as connection:
        agent_id = connection.exec_driver_sql("SELECT id FROM agent ORDER BY email LIMIT 1").scalar()
        actor = load_actor(connection, str(agent_id))
    assert actor is not None
    hooks: dict[str, Any] = {
        "before_write": state.before_write,
        "after_write": state.after_write,
        "after_commit": state.after_commit,
    }
    creates = [
        MutationIn(
            id=n,
            name="ticket.create",
            args={"subject": f"Bench {n}", "body": "b", "requester": {"value": f"bench{n}@example.com"}},
        )
        for n in range(1, TICKETS + 1)
    ]
    tickets = [o.result["ticket_id"] for o in apply_push(database, actor, "setup", creates, **hooks)]
    name = "ticket.reply" if sla else "ticket.note"

    statements: Counter[str] = Counter()

    def _note(statement: str) -> None:
        statements[" ".join(statement.split())[:90]] += 1

    @event.listens_for(database.engine, "before_cursor_execute")
    def _count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        _note(statement)

    try:  # the statements run on the driver's cursor directly (issue 19), if this tree has them
        from supportdesk.store.prepared import count_statements
    except ImportError:
        counting: Any = contextlib.nullcontext()
    else:
        counting = count_statements(_note)

    profiler = cProfile.Profile() if profile else None
    counting.__enter__()
    cpu, wall = time.process_time(), time.perf_counter()
    if profiler:
        profiler.enable()
    next_id = 1
    for _push in range(pushes):
        mutations = [
            MutationIn(id=i, name=name, args={"ticket_id": tickets[i % TICKETS], "body": f"note {i}"})
            for i in range(next_id, next_id + batch)
        ]
        outcomes = apply_push(database, actor, "bench", mutations, **hooks)
        assert all(o.ok for o in outcomes), outcomes
        next_id += batch
    if profiler:
        profiler.disable()
    counting.__exit__(None, None, None)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    count = pushes * batch
    print(
        f"{database.dialect}, {name}, pushes of {batch}: {cpu / count * 1000:.2f} ms CPU and "
        f"{wall / count * 1000:.2f} ms wall per mutation, {sum(statements.values()) / count:.1f} statements "
        f"per mutation ({count} mutations)"
    )
    for statement, times in statements.most_common(40):
        print(f"  {times / count:6.2f}  {statement}")
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(profile)
    reader.close()
    database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL (SUPPORTDESK_TEST_PG_URL) not SQLite.")
    parser.add_argument("--pushes", type=int, default=300)
    parser.add_argument("--batch", type=int, default=1, help="Mutations per push.")
    parser.add_argument("--sla", action="store_true", help="SLA policy and rules on; push public replies.")
    parser.add_argument("--profile", type=int, default=0, help="Print cProfile's top N functions.")
    options = parser.parse_args()
    if options.postgres:
        try:
            measure(fresh_postgres("bench_push_profile"), options.pushes, options.batch, options.sla, options.profile)
        finally:
            drop_postgres("bench_push_profile")
        return
    with tempfile.TemporaryDirectory() as folder:
        measure(str(Path(folder) / "server.db"), options.pushes, options.batch, options.sla, options.profile)


if __name__ == "__main__":
    main()
